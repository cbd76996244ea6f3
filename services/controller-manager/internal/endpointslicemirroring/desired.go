package endpointslicemirroring

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
)

// group is one mirrored slice: the addresses of one type that share a set
// of ports.
type group struct {
	key         string // address type and ports
	addressType string
	ports       []*discoveryv1.EndpointPort
	endpoints   []*discoveryv1.Endpoint
}

// result is what an Endpoints object mirrors to.
type result struct {
	groups []*group
	// invalid counts addresses that are not IPs; skipped those left out
	// beyond the per-subset limit (invalid ones included, as Kubernetes
	// counts them).
	invalid, skipped int
}

// addrKey is how Kubernetes tells addresses apart when it repacks
// subsets: by IP and the uid of the object they point at.
type addrKey struct{ ip, uid string }

// Desired mirrors an Endpoints object as Kubernetes does: its subsets are
// repacked (each port's addresses gathered, ports with the same addresses
// grouped; an address listed both ready and not ready is not ready), then
// every subset gives one slice per address type, of at most
// maxPerSubset endpoints (ready ones first).
func Desired(ep *corev1.Endpoints, maxPerSubset int) result {
	var r result
	groups := map[string]*group{}
	for _, sub := range repack(ep.GetSubsets()) {
		ports := mirrorPorts(sub.GetPorts())
		added, total := 0, len(sub.GetAddresses())+len(sub.GetNotReadyAddresses())
		add := func(addrs []*corev1.EndpointAddress, ready bool) {
			for _, a := range addrs {
				if added >= maxPerSubset {
					return
				}
				typ := addressType(a.GetIp())
				if typ == "" {
					r.invalid++
					continue
				}
				key := typ + " " + portsKey(ports)
				g, ok := groups[key]
				if !ok {
					g = &group{key: key, addressType: typ, ports: ports}
					groups[key] = g
				}
				g.endpoints = append(g.endpoints, endpoint(a, ready))
				added++
			}
		}
		add(sub.GetAddresses(), true)
		add(sub.GetNotReadyAddresses(), false)
		r.skipped += total - added
	}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		g := groups[k]
		sort.SliceStable(g.endpoints, func(i, j int) bool { return g.endpoints[i].GetAddresses()[0] < g.endpoints[j].GetAddresses()[0] })
		r.groups = append(r.groups, g)
	}
	return r
}

// repack merges subsets as Kubernetes' RepackSubsets does, so the same
// Endpoints written in different shapes mirrors to the same slices.
func repack(subsets []*corev1.EndpointSubset) []*corev1.EndpointSubset {
	addrs := map[addrKey]*corev1.EndpointAddress{}
	byPort := map[string]map[addrKey]bool{} // port key → address → ready
	portOf := map[string]*corev1.EndpointPort{}
	note := func(port *corev1.EndpointPort, a *corev1.EndpointAddress, ready bool) {
		pk := ""
		if port != nil {
			pk = fmt.Sprintf("%s/%d/%s/%s", port.GetName(), port.GetPort(), port.GetProtocol(), port.GetAppProtocol())
			portOf[pk] = port
		}
		k := addrKey{ip: a.GetIp(), uid: a.GetTargetRef().GetUid()}
		if _, ok := addrs[k]; !ok {
			addrs[k] = a
		}
		if byPort[pk] == nil {
			byPort[pk] = map[addrKey]bool{}
		}
		if was, ok := byPort[pk][k]; !ok || was {
			byPort[pk][k] = ready
		}
	}
	for _, s := range subsets {
		ports := s.GetPorts()
		if len(ports) == 0 {
			ports = []*corev1.EndpointPort{nil}
		}
		for _, p := range ports {
			for _, a := range s.GetAddresses() {
				note(p, a, true)
			}
			for _, a := range s.GetNotReadyAddresses() {
				note(p, a, false)
			}
		}
	}
	// Ports whose addresses (and readiness) are the same share a subset.
	type packed struct {
		set   map[addrKey]bool
		ports []*corev1.EndpointPort
	}
	bySet := map[string]*packed{}
	for pk, set := range byPort {
		var sig []string
		for k, ready := range set {
			sig = append(sig, fmt.Sprintf("%s/%s/%t", k.ip, k.uid, ready))
		}
		sort.Strings(sig)
		s := strings.Join(sig, ",")
		if bySet[s] == nil {
			bySet[s] = &packed{set: set}
		}
		if pk != "" {
			bySet[s].ports = append(bySet[s].ports, portOf[pk])
		}
	}
	var out []*corev1.EndpointSubset
	for _, s := range slices.Sorted(maps.Keys(bySet)) {
		p := bySet[s]
		sub := &corev1.EndpointSubset{Ports: p.ports}
		for _, k := range slices.SortedFunc(maps.Keys(p.set), func(a, b addrKey) int {
			return strings.Compare(a.ip+"/"+a.uid, b.ip+"/"+b.uid)
		}) {
			if p.set[k] {
				sub.Addresses = append(sub.Addresses, addrs[k])
			} else {
				sub.NotReadyAddresses = append(sub.NotReadyAddresses, addrs[k])
			}
		}
		sort.Slice(sub.Ports, func(i, j int) bool { return portLess(sub.Ports[i], sub.Ports[j]) })
		out = append(out, sub)
	}
	return out
}

func portLess(a, b *corev1.EndpointPort) bool {
	if a.GetName() != b.GetName() {
		return a.GetName() < b.GetName()
	}
	if a.GetPort() != b.GetPort() {
		return a.GetPort() < b.GetPort()
	}
	return a.GetProtocol() < b.GetProtocol()
}

// addressType is IPv4 or IPv6, "" for what is not an IP.
func addressType(ip string) string {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		return ""
	case a.Is4() || a.Is4In6():
		return "IPv4"
	default:
		return "IPv6"
	}
}

func mirrorPorts(ports []*corev1.EndpointPort) []*discoveryv1.EndpointPort {
	out := make([]*discoveryv1.EndpointPort, 0, len(ports))
	for _, p := range ports {
		name, port, protocol := p.GetName(), p.GetPort(), p.GetProtocol()
		if protocol == "" {
			protocol = "TCP"
		}
		out = append(out, &discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &protocol, AppProtocol: p.AppProtocol})
	}
	return out
}

func portsKey(ports []*discoveryv1.EndpointPort) string {
	sig := make([]string, 0, len(ports))
	for _, p := range ports {
		sig = append(sig, fmt.Sprintf("%s/%d/%s/%s", p.GetName(), p.GetPort(), p.GetProtocol(), p.GetAppProtocol()))
	}
	return strings.Join(sig, ",")
}

// endpoint is an address as a slice endpoint: only its readiness is known.
func endpoint(a *corev1.EndpointAddress, ready bool) *discoveryv1.Endpoint {
	e := &discoveryv1.Endpoint{Addresses: []string{a.GetIp()}, Conditions: &discoveryv1.EndpointConditions{Ready: &ready},
		TargetRef: a.GetTargetRef(), NodeName: a.NodeName}
	if h := a.GetHostname(); h != "" {
		e.Hostname = &h
	}
	return e
}
