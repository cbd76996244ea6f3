package endpointslicemirroring

import (
	"maps"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/telemetry"
)

func endpoints(ips ...string) *corev1.Endpoints {
	return &corev1.Endpoints{
		Metadata: &metav1.ObjectMeta{Name: "svc", Namespace: "ns", Uid: "ep-uid",
			Labels: map[string]string{"team": "a"},
			Annotations: map[string]string{"note": "x", "kubectl.kubernetes.io/last-applied-configuration": "{}",
				telemetry.TraceAnnotation: "00-endpoints-trace"}},
		Subsets: []*corev1.EndpointSubset{{Addresses: addrs(ips...), Ports: []*corev1.EndpointPort{port("http", 80, "TCP")}}},
	}
}

// existing is what the apiserver would hold after mirror's slice was
// created under name.
func existing(ep *corev1.Endpoints, name string) *discoveryv1.EndpointSlice {
	s := mirror(ep, Desired(ep, DefaultMaxEndpointsPerSubset).groups[0], nil)
	s.Metadata.Name, s.Metadata.ResourceVersion = name, "7"
	s.Metadata.Annotations[telemetry.TraceAnnotation] = "00-slice-trace"
	return s
}

func names(list []*discoveryv1.EndpointSlice) []string {
	var out []string
	for _, s := range list {
		name := s.GetMetadata().GetName()
		if name == "" {
			name = s.GetMetadata().GetGenerateName()
		}
		out = append(out, name)
	}
	return out
}

func TestPlan(t *testing.T) {
	deleting := endpoints("10.0.0.1")
	deleting.Metadata.DeletionTimestamp = timestamppb.Now()
	otherPorts := endpoints("10.0.0.1")
	otherPorts.Subsets[0].Ports = []*corev1.EndpointPort{port("https", 443, "TCP")}
	relabelled := endpoints("10.0.0.1")
	relabelled.Metadata.Labels["team"] = "b"
	cases := []struct {
		name                 string
		ep                   *corev1.Endpoints
		have                 []*discoveryv1.EndpointSlice
		create, update, gone []string
	}{
		{name: "new", ep: endpoints("10.0.0.1"), create: []string{"svc-"}},
		{name: "in step", ep: endpoints("10.0.0.1"), have: []*discoveryv1.EndpointSlice{existing(endpoints("10.0.0.1"), "svc-a")}},
		{name: "address changed", ep: endpoints("10.0.0.2"), have: []*discoveryv1.EndpointSlice{existing(endpoints("10.0.0.1"), "svc-a")},
			update: []string{"svc-a"}},
		{name: "labels changed", ep: relabelled, have: []*discoveryv1.EndpointSlice{existing(endpoints("10.0.0.1"), "svc-a")},
			update: []string{"svc-a"}},
		{name: "ports changed: the slice is reused", ep: otherPorts, have: []*discoveryv1.EndpointSlice{existing(endpoints("10.0.0.1"), "svc-a")},
			update: []string{"svc-a"}},
		{name: "a duplicate goes", ep: endpoints("10.0.0.1"),
			have: []*discoveryv1.EndpointSlice{existing(endpoints("10.0.0.1"), "svc-b"), existing(endpoints("10.0.0.1"), "svc-a")},
			gone: []string{"svc-b"}},
		{name: "no addresses left", ep: endpoints(), have: []*discoveryv1.EndpointSlice{existing(endpoints("10.0.0.1"), "svc-a")},
			gone: []string{"svc-a"}},
		{name: "an Endpoints being deleted gets no new slice", ep: deleting},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := plan(tc.ep, Desired(tc.ep, DefaultMaxEndpointsPerSubset).groups, tc.have)
			for _, check := range []struct {
				what      string
				got, want []string
			}{{"create", names(c.create), tc.create}, {"update", names(c.update), tc.update}, {"delete", names(c.remove), tc.gone}} {
				if !slices.Equal(check.got, check.want) {
					t.Errorf("%s: got %v, want %v", check.what, check.got, check.want)
				}
			}
		})
	}
}

func TestMirrorMetadata(t *testing.T) {
	ep := endpoints("10.0.0.1")
	ep.Metadata.Labels[LabelManagedBy] = "someone-else"
	s := mirror(ep, Desired(ep, DefaultMaxEndpointsPerSubset).groups[0], nil)
	wantLabels := map[string]string{"team": "a", LabelServiceName: "svc", LabelManagedBy: ManagedBy}
	if !maps.Equal(s.GetMetadata().GetLabels(), wantLabels) {
		t.Errorf("labels: got %v, want %v", s.GetMetadata().GetLabels(), wantLabels)
	}
	if want := map[string]string{"note": "x"}; !maps.Equal(s.GetMetadata().GetAnnotations(), want) {
		t.Errorf("annotations: got %v, want %v", s.GetMetadata().GetAnnotations(), want)
	}
	yes := true
	wantOwner := &metav1.OwnerReference{ApiVersion: "v1", Kind: "Endpoints", Name: "svc", Uid: "ep-uid", Controller: &yes, BlockOwnerDeletion: &yes}
	if refs := s.GetMetadata().GetOwnerReferences(); len(refs) != 1 || !proto.Equal(refs[0], wantOwner) {
		t.Errorf("owners: got %v, want %v", refs, wantOwner)
	}
	if s.GetMetadata().GetGenerateName() != "svc-" || s.GetAddressType() != "IPv4" {
		t.Errorf("got generateName %q, addressType %q, want svc-, IPv4", s.GetMetadata().GetGenerateName(), s.GetAddressType())
	}
	// An update keeps the slice's own trace annotation.
	updated := mirror(ep, Desired(ep, DefaultMaxEndpointsPerSubset).groups[0], existing(ep, "svc-a"))
	if got := updated.GetMetadata().GetAnnotations()[telemetry.TraceAnnotation]; got != "00-slice-trace" {
		t.Errorf("trace annotation: got %q, want the slice's own", got)
	}
}
