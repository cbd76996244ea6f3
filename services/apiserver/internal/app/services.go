package app

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"skiff.dev/services/apiserver/internal/allocator"
	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/ipalloc"
	"skiff.dev/services/apiserver/internal/kubernetesservice"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/servicealloc"
)

// How often the service allocations are repaired and the kubernetes
// Service and the default ServiceCIDR are checked, and how long an
// allocated value must be unused before a repair frees it.
const (
	serviceRepairInterval = 3 * time.Minute
	serviceRepairGrace    = time.Minute
	kubernetesSvcInterval = 10 * time.Second
	defaultCIDRInterval   = 10 * time.Second
)

// validateServiceRanges checks --service-cluster-ip-range and
// --service-node-port-range.
func (o *Options) validateServiceRanges() []error {
	var errs []error
	if _, err := allocator.ParseCIDR(o.ServiceClusterIPRange); err != nil {
		errs = append(errs, fmt.Errorf("--service-cluster-ip-range: %w", err))
	}
	if _, err := allocator.ParsePortRange(o.ServiceNodePortRange); err != nil {
		errs = append(errs, fmt.Errorf("--service-node-port-range: %w", err))
	}
	return errs
}

// serviceAllocation is the Services' allocators and the loops that keep
// them, the default ServiceCIDR and the kubernetes Service right.
type serviceAllocation struct {
	ips         *ipalloc.Allocator
	defaultCIDR *ipalloc.DefaultCIDR
	repair      *servicealloc.Repairer
	kubernetes  *kubernetesservice.Controller
}

// services wraps the services backend of a with cluster IP and node port
// allocation.
func (o *Options) services(a *api.API, client *clientv3.Client) (*serviceAllocation, error) {
	cidr, err := allocator.ParseCIDR(o.ServiceClusterIPRange)
	if err != nil {
		return nil, err
	}
	pr, err := allocator.ParsePortRange(o.ServiceNodePortRange)
	if err != nil {
		return nil, err
	}
	prefix, err := netip.ParsePrefix(cidr.String())
	if err != nil {
		return nil, err
	}
	const networking = "networking.k8s.io"
	ipAddresses, cidrs := a.Backend(networking, "ipaddresses"), a.Backend(networking, "servicecidrs")
	ips := ipalloc.New(ipAddresses, cidrs)
	ports := allocator.NewPorts(client, allocator.ServiceNodePortsKey, pr)
	svc, _ := a.Catalog.Snapshot().Lookup("", "v1", "services")
	res := svc.Resource
	inner := a.Backend("", "services")
	if err := a.Wrap("", "services", func(b registry.Backend) registry.Backend {
		return servicealloc.Backend{Backend: b, IPs: ips, Ports: ports, Resource: res}
	}); err != nil {
		return nil, err
	}
	kubernetes := &kubernetesservice.Controller{
		Services: a.Backend("", "services"), Endpoints: a.Backend("", "endpoints"),
		Slices: a.Backend("discovery.k8s.io", "endpointslices"), ClusterIP: net.IP(kubernetesServiceIP(prefix).AsSlice()), SecurePort: o.SecurePort,
		Address: kubernetesservice.AdvertisedAddress(o.AdvertiseAddress, o.BindAddress),
		Leases:  &kubernetesservice.Leases{Client: client},
	}
	if o.EndpointReconcilerType == "none" {
		kubernetes.Address, kubernetes.Leases = nil, nil
	}
	return &serviceAllocation{
		ips:         ips,
		defaultCIDR: &ipalloc.DefaultCIDR{CIDRs: cidrs, Range: prefix},
		repair:      &servicealloc.Repairer{Services: inner, IPAddresses: ipAddresses, IPs: ips, Ports: ports, Grace: serviceRepairGrace},
		kubernetes:  kubernetes,
	}, nil
}

// kubernetesServiceIP is the kubernetes Service's cluster IP: the first
// address of the service range, as Kubernetes gives it.
func kubernetesServiceIP(serviceRange netip.Prefix) netip.Addr {
	return ipalloc.First(serviceRange.Masked())
}

// start makes the default ServiceCIDR, starts the allocator's mirror and
// repairs the allocations once, then keeps repairing them, the default
// ServiceCIDR and the kubernetes Service until ctx ends; done is closed
// when every loop has.
func (s *serviceAllocation) start(ctx context.Context) (done <-chan struct{}, err error) {
	if err := s.defaultCIDR.Ensure(ctx); err != nil {
		return nil, err
	}
	mirrorCtx, stopMirror := context.WithCancel(ctx)
	mirrorDone := make(chan struct{})
	go func() { defer close(mirrorDone); s.ips.Run(mirrorCtx) }()
	fail := func(err error) (<-chan struct{}, error) {
		stopMirror()
		<-mirrorDone
		return nil, err
	}
	select {
	case <-s.ips.Synced():
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if err := s.repair.RunOnce(ctx); err != nil {
		return fail(err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		var wg sync.WaitGroup
		wg.Go(func() { s.kubernetes.Run(ctx, kubernetesSvcInterval) })
		wg.Go(func() { s.repair.Run(ctx, serviceRepairInterval) })
		wg.Go(func() { s.defaultCIDR.Run(ctx, defaultCIDRInterval) })
		wg.Wait()
		stopMirror()
		<-mirrorDone
	}()
	return ch, nil
}
