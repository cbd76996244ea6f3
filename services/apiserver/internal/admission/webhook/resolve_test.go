package webhook

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

type services struct {
	registry.Backend
	svc map[string]*corev1.Service
}

func (s services) Get(_ context.Context, ns, name string, _ registry.GetOptions) (proto.Message, error) {
	if svc, ok := s.svc[ns+"/"+name]; ok {
		return svc, nil
	}
	return nil, apierrors.NewNotFound(apierrors.Resource{Resource: "services"}, name)
}

type endpointSlices struct {
	registry.Backend
	items []*discoveryv1.EndpointSlice
	asked string
}

func (s *endpointSlices) List(_ context.Context, ns string, opts registry.ListOptions) (proto.Message, error) {
	s.asked = ns + " " + opts.LabelSelector
	return &discoveryv1.EndpointSliceList{Items: s.items}, nil
}

func TestServiceEndpoints(t *testing.T) {
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "h", Namespace: "hooks"}, Spec: &corev1.ServiceSpec{
		Type: "ClusterIP", Ports: []*corev1.ServicePort{{Name: "https", Port: 443}}}}
	ready, notReady := proto.Bool(true), proto.Bool(false)
	slice := func(port string, eps ...*discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{AddressType: "IPv4", Endpoints: eps,
			Ports: []*discoveryv1.EndpointPort{{Name: proto.String(port), Port: proto.Int32(8443)}}}
	}
	ep := func(ip string, r *bool) *discoveryv1.Endpoint {
		return &discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: &discoveryv1.EndpointConditions{Ready: r}}
	}
	for _, tc := range []struct {
		name   string
		port   int32
		slices []*discoveryv1.EndpointSlice
		want   string
		err    string
	}{
		{"a ready endpoint", 443, []*discoveryv1.EndpointSlice{slice("https", ep("10.0.0.1", notReady), ep("10.0.0.2", ready))}, "10.0.0.2:8443", ""},
		{"readiness unknown counts as ready", 443, []*discoveryv1.EndpointSlice{slice("https", ep("10.0.0.3", nil))}, "10.0.0.3:8443", ""},
		{"another port's endpoints", 443, []*discoveryv1.EndpointSlice{slice("metrics", ep("10.0.0.1", ready))}, "", `no endpoints available for service "h"`},
		{"no ready endpoint", 443, []*discoveryv1.EndpointSlice{slice("https", ep("10.0.0.1", notReady))}, "", `no endpoints available for service "h"`},
		{"no such port", 8443, nil, "", `no service port 8443 found for service "h"`},
	} {
		s := &endpointSlices{items: tc.slices}
		r := ServiceEndpoints{Services: services{svc: map[string]*corev1.Service{"hooks/h": svc}}, EndpointSlices: s}
		got, err := r.ResolveEndpoint(context.Background(), "hooks", "h", tc.port)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("%s: got %q, %v; want %q, %q", tc.name, got, err, tc.want, tc.err)
		}
		if tc.port == 443 && s.asked != "hooks kubernetes.io/service-name=h" {
			t.Errorf("%s: listed %q", tc.name, s.asked)
		}
	}
	r := ServiceEndpoints{Services: services{}, EndpointSlices: &endpointSlices{}}
	if _, err := r.ResolveEndpoint(context.Background(), "hooks", "gone", 443); !apierrors.IsNotFound(err) {
		t.Errorf("a missing service: %v", err)
	}
}
