package local

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/informer"
)

// key names a Service in the provider's memory.
func key(svc *corev1.Service) string { return informer.KeyOf(svc) }

func ingress(a netip.Addr) *corev1.LoadBalancerStatus {
	return &corev1.LoadBalancerStatus{Ingress: []*corev1.LoadBalancerIngress{{Ip: a.String()}}}
}

// GetLoadBalancer reports the Service's address, if it holds one.
func (p *Provider) GetLoadBalancer(_ context.Context, _ string, svc *corev1.Service) (*corev1.LoadBalancerStatus, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.bySvc[key(svc)]
	if !ok {
		return nil, false, nil
	}
	return ingress(a), true, nil
}

// EnsureLoadBalancer gives the Service an address: the one it asks for
// in spec.loadBalancerIP, else the one it holds, else the one its status
// shows if no other Service holds it, else the first free one.
func (p *Provider) EnsureLoadBalancer(_ context.Context, _ string, svc *corev1.Service, _ []*corev1.Node) (*corev1.LoadBalancerStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := key(svc)
	if want := svc.GetSpec().GetLoadBalancerIp(); want != "" {
		a, err := p.requested(k, want)
		if err != nil {
			return nil, err
		}
		p.take(k, a)
		return ingress(a), nil
	}
	if a, ok := p.bySvc[k]; ok && p.inPool(a) {
		return ingress(a), nil
	}
	for _, in := range svc.GetStatus().GetLoadBalancer().GetIngress() {
		a, err := netip.ParseAddr(in.GetIp())
		if err == nil && p.inPool(a.Unmap()) && p.free(k, a.Unmap()) {
			p.take(k, a.Unmap())
			return ingress(a.Unmap()), nil
		}
	}
	a, ok := p.firstFree()
	if !ok {
		return nil, fmt.Errorf("no free address in the load balancer pool %v for service %s: every address is in use; widen loadBalancerPool in the cloud config or delete a LoadBalancer service",
			p.cfg.LoadBalancerPool, k)
	}
	p.take(k, a)
	return ingress(a), nil
}

// requested checks an address a Service asks for.
func (p *Provider) requested(k, want string) (netip.Addr, error) {
	a, err := netip.ParseAddr(want)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("service %s: spec.loadBalancerIP %q is not an IP address", k, want)
	}
	a = a.Unmap()
	if !p.inPool(a) {
		return netip.Addr{}, fmt.Errorf("service %s: spec.loadBalancerIP %s is outside the load balancer pool %v", k, a, p.cfg.LoadBalancerPool)
	}
	if !p.free(k, a) {
		return netip.Addr{}, fmt.Errorf("service %s: spec.loadBalancerIP %s is in use by service %s", k, a, p.byIP[a])
	}
	return a, nil
}

// UpdateLoadBalancer has nothing to do: every node's proxy answers for
// the address, whichever nodes are Ready.
func (p *Provider) UpdateLoadBalancer(context.Context, string, *corev1.Service, []*corev1.Node) error {
	return nil
}

// EnsureLoadBalancerDeleted releases the Service's address.
func (p *Provider) EnsureLoadBalancerDeleted(_ context.Context, _ string, svc *corev1.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.release(key(svc))
	return nil
}

func (p *Provider) inPool(a netip.Addr) bool {
	for _, r := range p.pool {
		if r.contains(a) {
			return true
		}
	}
	return false
}

// free reports whether a is free or held by k already.
func (p *Provider) free(k string, a netip.Addr) bool {
	holder, taken := p.byIP[a]
	return !taken || holder == k
}

func (p *Provider) take(k string, a netip.Addr) {
	p.release(k)
	p.byIP[a], p.bySvc[k] = k, a
}

func (p *Provider) release(k string) {
	if a, ok := p.bySvc[k]; ok {
		delete(p.byIP, a)
		delete(p.bySvc, k)
	}
}

// firstFree walks the pool in order; each range is walked past at most
// as many addresses as are taken.
func (p *Provider) firstFree() (netip.Addr, bool) {
	for _, r := range p.pool {
		for a := r.from; a.IsValid() && a.Compare(r.to) <= 0; a = a.Next() {
			if _, taken := p.byIP[a]; !taken {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}
