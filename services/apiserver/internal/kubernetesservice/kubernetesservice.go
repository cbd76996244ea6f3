// Package kubernetesservice keeps the `kubernetes` Service in `default`:
// the first address of the service range, port 443 to the apiservers'
// secure port, and its Endpoints and EndpointSlice listing the
// apiservers' advertised addresses.
package kubernetesservice

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// Name and namespace of the Service, its port name and port.
const (
	Name      = "kubernetes"
	Namespace = "default"
	PortName  = "https"
	Port      = 443
)

// Labels of the EndpointSlice, as Kubernetes sets them: the endpointslice
// controller leaves a slice of another manager alone.
const (
	labelServiceName = "kubernetes.io/service-name"
	labelManagedBy   = "endpointslice.kubernetes.io/managed-by"
	managedBy        = "endpointslicemirroring-controller.k8s.io"
)

// Controller creates the Service and keeps this apiserver's address in
// its endpoints. With Leases the endpoints list exactly the apiservers
// whose leases are live; without, addresses of other apiservers are kept
// and one that goes away stays listed.
type Controller struct {
	Services, Endpoints, Slices registry.Backend
	ClusterIP                   net.IP
	SecurePort                  int
	// Address is this apiserver's advertised address; nil leaves the
	// endpoints alone.
	Address net.IP
	// Leases, when set, hold every apiserver's address.
	Leases *Leases
}

// Run reconciles now and then every interval until ctx ends.
func (c *Controller) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := c.Reconcile(ctx); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "reconcile the kubernetes service", "err", err)
		}
		select {
		case <-ctx.Done():
			c.remove(context.WithoutCancel(ctx))
			return
		case <-t.C:
		}
	}
}

// remove takes this apiserver's lease off and its address out of the
// endpoints, so that clients stop being sent to it now rather than when
// its lease runs out.
func (c *Controller) remove(ctx context.Context) {
	if c.Leases == nil || c.Address == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := c.Leases.Remove(ctx, c.Address.String())
	if err == nil {
		err = c.reconcileEndpoints(ctx, false)
	}
	if err != nil {
		slog.WarnContext(ctx, "remove this apiserver from the kubernetes service's endpoints", "err", err)
	}
}

// Reconcile makes the Service, Endpoints and EndpointSlice as they should be.
func (c *Controller) Reconcile(ctx context.Context) error {
	if err := c.service(ctx); err != nil {
		return fmt.Errorf("service %s/%s: %w", Namespace, Name, err)
	}
	if c.Address == nil {
		return nil
	}
	return c.reconcileEndpoints(ctx, true)
}

// reconcileEndpoints writes the endpoints: with Leases the live
// addresses (this one renewed first when self), else the listed ones and
// this one.
func (c *Controller) reconcileEndpoints(ctx context.Context, self bool) error {
	var live []string
	if c.Leases != nil {
		if self {
			if err := c.Leases.Renew(ctx, c.Address.String()); err != nil {
				return fmt.Errorf("lease of %s: %w", c.Address, err)
			}
		}
		var err error
		if live, err = c.Leases.Live(ctx); err != nil {
			return fmt.Errorf("apiserver leases: %w", err)
		}
	}
	addrs, err := c.endpoints(ctx, live)
	if err != nil {
		return fmt.Errorf("endpoints %s/%s: %w", Namespace, Name, err)
	}
	if c.Slices == nil {
		return nil
	}
	if err := c.slice(ctx, addrs); err != nil {
		return fmt.Errorf("endpointslice %s/%s: %w", Namespace, Name, err)
	}
	return nil
}

func (c *Controller) servicePorts() []*corev1.ServicePort {
	return []*corev1.ServicePort{{Name: PortName, Protocol: "TCP", Port: Port,
		TargetPort: &metav1.IntOrString{IntVal: int32(c.SecurePort)}}}
}

func (c *Controller) service(ctx context.Context) error {
	obj, err := c.Services.Get(ctx, Namespace, Name, registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		svc := &corev1.Service{
			Metadata: &metav1.ObjectMeta{Name: Name, Namespace: Namespace,
				Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
			Spec: &corev1.ServiceSpec{Type: "ClusterIP", ClusterIp: c.ClusterIP.String(),
				ClusterIps: []string{c.ClusterIP.String()}, SessionAffinity: "None", Ports: c.servicePorts()},
		}
		_, err = c.Services.Create(ctx, svc, registry.CreateOptions{FieldManager: "kube-apiserver"})
		if err == nil {
			slog.InfoContext(ctx, "created the kubernetes service", "clusterIP", c.ClusterIP)
		}
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	svc := obj.(*corev1.Service)
	if got := svc.GetSpec().GetPorts(); len(got) == 1 && proto.Equal(got[0], c.servicePorts()[0]) {
		return nil
	}
	svc.Spec.Ports = c.servicePorts()
	_, err = c.Services.Update(ctx, svc, registry.UpdateOptions{FieldManager: "kube-apiserver"})
	return err
}

// endpoints writes the Endpoints, listing live (with Leases) or else the
// addresses listed and this apiserver's, and returns the addresses.
func (c *Controller) endpoints(ctx context.Context, live []string) ([]string, error) {
	port := &corev1.EndpointPort{Name: PortName, Port: int32(c.SecurePort), Protocol: "TCP"}
	obj, err := c.Endpoints.Get(ctx, Namespace, Name, registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		addrs := c.wanted(nil, live)
		ep := &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Name: Name, Namespace: Namespace},
			Subsets: subsetsOf(addrs, port)}
		_, err = c.Endpoints.Create(ctx, ep, registry.CreateOptions{FieldManager: "kube-apiserver"})
		return addrs, err
	}
	if err != nil {
		return nil, err
	}
	ep := obj.(*corev1.Endpoints)
	var have []string
	for _, s := range ep.GetSubsets() {
		for _, a := range s.GetAddresses() {
			if !slices.Contains(have, a.GetIp()) {
				have = append(have, a.GetIp())
			}
		}
	}
	addrs := c.wanted(have, live)
	want := subsetsOf(addrs, port)
	if proto.Equal(&corev1.Endpoints{Subsets: ep.GetSubsets()}, &corev1.Endpoints{Subsets: want}) {
		return addrs, nil
	}
	ep.Subsets = want
	_, err = c.Endpoints.Update(ctx, ep, registry.UpdateOptions{FieldManager: "kube-apiserver"})
	return addrs, err
}

// wanted are the addresses the endpoints should list: the live ones
// with Leases, else those listed and this apiserver's.
func (c *Controller) wanted(have, live []string) []string {
	if c.Leases != nil {
		return live
	}
	if !slices.Contains(have, c.Address.String()) {
		return append(slices.Clone(have), c.Address.String())
	}
	return have
}

// subsetsOf is the Endpoints' one subset: addrs on port; none without
// addresses (a subset must have some).
func subsetsOf(addrs []string, port *corev1.EndpointPort) []*corev1.EndpointSubset {
	if len(addrs) == 0 {
		return nil
	}
	subset := &corev1.EndpointSubset{Ports: []*corev1.EndpointPort{port}}
	for _, a := range addrs {
		subset.Addresses = append(subset.Addresses, &corev1.EndpointAddress{Ip: a})
	}
	return []*corev1.EndpointSubset{subset}
}

// slice mirrors the Endpoints' addresses into the EndpointSlice.
func (c *Controller) slice(ctx context.Context, addrs []string) error {
	want := &discoveryv1.EndpointSlice{
		Metadata: &metav1.ObjectMeta{Name: Name, Namespace: Namespace,
			Labels: map[string]string{labelServiceName: Name, labelManagedBy: managedBy}},
		AddressType: "IPv4",
		Ports:       []*discoveryv1.EndpointPort{{Name: proto.String(PortName), Protocol: proto.String("TCP"), Port: proto.Int32(int32(c.SecurePort))}},
	}
	for _, a := range addrs {
		want.Endpoints = append(want.Endpoints, &discoveryv1.Endpoint{Addresses: []string{a},
			Conditions: &discoveryv1.EndpointConditions{Ready: proto.Bool(true)}})
	}
	obj, err := c.Slices.Get(ctx, Namespace, Name, registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.Slices.Create(ctx, want, registry.CreateOptions{FieldManager: "kube-apiserver"})
		return err
	}
	if err != nil {
		return err
	}
	have := obj.(*discoveryv1.EndpointSlice)
	if len(have.GetEndpoints()) == len(want.Endpoints) && proto.Equal(&discoveryv1.EndpointSlice{Endpoints: have.Endpoints, Ports: have.Ports},
		&discoveryv1.EndpointSlice{Endpoints: want.Endpoints, Ports: want.Ports}) {
		return nil
	}
	want.Metadata = have.Metadata
	_, err = c.Slices.Update(ctx, want, registry.UpdateOptions{FieldManager: "kube-apiserver"})
	return err
}

// AdvertisedAddress is the address the endpoints list: the
// --advertise-address, else the bind address unless it is a wildcard or
// loopback (endpoints may not be), else the machine's first non-loopback
// IPv4 address; nil when there is none.
func AdvertisedAddress(advertise, bind string) net.IP {
	if ip := net.ParseIP(advertise); ip != nil {
		return ip
	}
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		return ip
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.To4()
		}
	}
	return nil
}
