package app

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"skiff.dev/services/apiserver/internal/allocator"
	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/kubernetesservice"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/servicealloc"
)

// How often the service allocations are repaired and the kubernetes
// Service is checked, and how long an allocated value must be unused
// before a repair frees it.
const (
	serviceRepairInterval = 3 * time.Minute
	serviceRepairGrace    = time.Minute
	kubernetesSvcInterval = 10 * time.Second
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
// them and the kubernetes Service right.
type serviceAllocation struct {
	repair     *servicealloc.Repairer
	kubernetes *kubernetesservice.Controller
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
	ips := allocator.NewIPs(client, allocator.ServiceIPsKey, cidr)
	ports := allocator.NewPorts(client, allocator.ServiceNodePortsKey, pr)
	var res *registry.Resource
	for _, r := range a.Resources {
		if r.Group == "" && r.Plural == "services" {
			res = r
		}
	}
	inner := a.Backend("", "services")
	if err := a.Wrap("", "services", func(b registry.Backend) registry.Backend {
		return servicealloc.Backend{Backend: b, IPs: ips, Ports: ports, Resource: res}
	}); err != nil {
		return nil, err
	}
	return &serviceAllocation{
		repair: &servicealloc.Repairer{Services: inner, IPs: ips, Ports: ports, Grace: serviceRepairGrace},
		kubernetes: &kubernetesservice.Controller{
			Services: a.Backend("", "services"), Endpoints: a.Backend("", "endpoints"),
			Slices: a.Backend("discovery.k8s.io", "endpointslices"), ClusterIP: ips.First(), SecurePort: o.SecurePort,
			Address: kubernetesservice.AdvertisedAddress(o.AdvertiseAddress, o.BindAddress),
		},
	}, nil
}

// start repairs the allocations once, then keeps repairing them and the
// kubernetes Service until ctx ends; done is closed when both loops have.
func (s *serviceAllocation) start(ctx context.Context) (done <-chan struct{}, err error) {
	if err := s.repair.RunOnce(ctx); err != nil {
		return nil, err
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		finished := make(chan struct{})
		go func() { defer close(finished); s.kubernetes.Run(ctx, kubernetesSvcInterval) }()
		s.repair.Run(ctx, serviceRepairInterval)
		<-finished
	}()
	return ch, nil
}
