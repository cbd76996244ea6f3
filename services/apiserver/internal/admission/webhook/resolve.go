package webhook

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// ServiceEndpoints resolves a webhook's service to one of its ready
// endpoints (a pod's address and the port its EndpointSlices give the
// Service's port), as Kubernetes' apiserver does with endpoint routing.
// The apiserver then needs a route to the pods, which it has where it runs
// on a node; Services' cluster IPs, Kubernetes' default, would need the
// service proxy's rules on the apiserver's host as well.
type ServiceEndpoints struct {
	Services, EndpointSlices registry.Backend
}

var _ ServiceResolver = ServiceEndpoints{}

// ResolveEndpoint returns host:port of a ready endpoint, picked at random,
// of the Service's port.
func (r ServiceEndpoints) ResolveEndpoint(ctx context.Context, namespace, name string, port int32) (string, error) {
	obj, err := r.Services.Get(ctx, namespace, name, registry.GetOptions{})
	if err != nil {
		return "", err
	}
	svc := obj.(*corev1.Service)
	switch t := svc.GetSpec().GetType(); t {
	case "", "ClusterIP", "NodePort", "LoadBalancer":
	default:
		return "", fmt.Errorf("unsupported service type %q", t)
	}
	var portName string
	found := false
	for _, sp := range svc.GetSpec().GetPorts() {
		if sp.GetPort() == port {
			portName, found = sp.GetName(), true
			break
		}
	}
	if !found {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", port, name))
	}
	list, err := r.EndpointSlices.List(ctx, namespace, registry.ListOptions{
		LabelSelector: "kubernetes.io/service-name=" + name, ResourceVersion: "0"})
	if err != nil {
		return "", err
	}
	items := list.(*discoveryv1.EndpointSliceList).GetItems()
	// The slices of the Service's primary family first, each family in a
	// random order.
	rand.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	if fams := svc.GetSpec().GetIpFamilies(); len(fams) > 0 {
		primary := make([]*discoveryv1.EndpointSlice, 0, len(items))
		var rest []*discoveryv1.EndpointSlice
		for _, s := range items {
			if s.GetAddressType() == fams[0] {
				primary = append(primary, s)
			} else {
				rest = append(rest, s)
			}
		}
		items = append(primary, rest...)
	}
	for _, s := range items {
		for _, p := range s.GetPorts() {
			if p.Name == nil || p.GetName() != portName || p.Port == nil {
				continue
			}
			eps := s.GetEndpoints()
			offset := 0
			if len(eps) > 0 {
				offset = rand.IntN(len(eps))
			}
			for i := range eps {
				ep := eps[(i+offset)%len(eps)]
				if ep.GetConditions().Ready != nil && !ep.GetConditions().GetReady() || len(ep.GetAddresses()) == 0 {
					continue
				}
				return net.JoinHostPort(ep.GetAddresses()[0], strconv.Itoa(int(p.GetPort()))), nil
			}
		}
	}
	return "", apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
}
