// Command echo is a cloud provider plugin for tests: instances exist
// unless their node is named "gone", the instance type is the
// configuration it was given, load balancers get 192.0.2.<n>, routes are
// kept in memory, and a node named "crash" makes it exit, "hang" never
// answer.
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/cloudprovider"
)

type echo struct {
	mu     sync.Mutex
	config string
	lbs    []string
	routes []cloudprovider.Route
}

func (e *echo) Initialize(_ context.Context, config []byte, clusterName string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.config = clusterName + ":" + string(config)
	return nil
}

func (e *echo) InstanceExists(_ context.Context, n *corev1.Node) (bool, error) {
	switch n.GetMetadata().GetName() {
	case "crash":
		os.Exit(3)
	case "hang":
		select {}
	case "fail":
		return false, fmt.Errorf("node %s: no such luck", n.GetMetadata().GetName())
	}
	return n.GetMetadata().GetName() != "gone", nil
}

func (e *echo) InstanceShutdown(context.Context, *corev1.Node) (bool, error) { return false, nil }

func (e *echo) InstanceMetadata(_ context.Context, n *corev1.Node) (*cloudprovider.InstanceMetadata, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &cloudprovider.InstanceMetadata{ProviderID: "echo://" + n.GetMetadata().GetName(), InstanceType: e.config,
		Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: "10.0.0.1"}}, Zone: "z", Region: "r"}, nil
}

func (e *echo) HasZones() bool { return true }

func (e *echo) GetLoadBalancer(_ context.Context, _ string, svc *corev1.Service) (*corev1.LoadBalancerStatus, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.Index(e.lbs, svc.GetMetadata().GetName())
	if i < 0 {
		return nil, false, nil
	}
	return status(i), true, nil
}

func status(i int) *corev1.LoadBalancerStatus {
	return &corev1.LoadBalancerStatus{Ingress: []*corev1.LoadBalancerIngress{{Ip: fmt.Sprintf("192.0.2.%d", i+1)}}}
}

func (e *echo) EnsureLoadBalancer(_ context.Context, _ string, svc *corev1.Service, _ []*corev1.Node) (*corev1.LoadBalancerStatus, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.Index(e.lbs, svc.GetMetadata().GetName())
	if i < 0 {
		e.lbs = append(e.lbs, svc.GetMetadata().GetName())
		i = len(e.lbs) - 1
	}
	return status(i), nil
}

func (e *echo) UpdateLoadBalancer(context.Context, string, *corev1.Service, []*corev1.Node) error {
	return nil
}

func (e *echo) EnsureLoadBalancerDeleted(context.Context, string, *corev1.Service) error { return nil }

func (e *echo) ListRoutes(context.Context, string) ([]cloudprovider.Route, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.routes), nil
}

func (e *echo) CreateRoute(_ context.Context, _, hint string, r cloudprovider.Route) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.Name = hint
	e.routes = append(e.routes, r)
	return nil
}

func (e *echo) DeleteRoute(_ context.Context, _ string, r cloudprovider.Route) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.routes = slices.DeleteFunc(e.routes, func(x cloudprovider.Route) bool { return x.Name == r.Name })
	return nil
}

func main() { cloudprovider.Serve("echo", &echo{}) }
