package kinds

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/registry"
)

func TestNetworkingWarnings(t *testing.T) {
	np := &networkingv1.NetworkPolicy{Spec: &networkingv1.NetworkPolicySpec{
		Egress: []*networkingv1.NetworkPolicyEgressRule{{To: []*networkingv1.NetworkPolicyPeer{
			{PodSelector: &metav1.LabelSelector{}},
			{IpBlock: &networkingv1.IPBlock{Cidr: "10.0.0.1/16", Except: []string{"10.0.1.0/24", "010.0.2.0/24"}}},
		}}},
	}}
	got := networkPolicyWarnings(&registry.Write{Operation: registry.OpCreate, Object: np})
	want := []string{
		`spec.egress[0].to[1].ipBlock.cidr: CIDR value "10.0.0.1/16" is ambiguous in this context (should be "10.0.0.0/16" or "10.0.0.1/32"?)`,
		`spec.egress[0].to[1].ipBlock.except[1]: non-standard CIDR value "010.0.2.0/24" is invalid: use "10.0.2.0/24"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("policy warnings:\n got %q\nwant %q", got, want)
	}

	annotated := &networkingv1.Ingress{Metadata: &metav1.ObjectMeta{Annotations: map[string]string{"kubernetes.io/ingress.class": "nginx"}}}
	tests := []struct {
		name string
		w    *registry.Write
		want []string
	}{
		{"annotation only", &registry.Write{Operation: registry.OpCreate, Object: annotated},
			[]string{`annotation "kubernetes.io/ingress.class" is deprecated, please use 'spec.ingressClassName' instead`}},
		{"annotation and class", &registry.Write{Operation: registry.OpCreate, Object: &networkingv1.Ingress{Metadata: annotated.Metadata,
			Spec: &networkingv1.IngressSpec{IngressClassName: proto.String("nginx")}}}, nil},
		{"annotation on update", &registry.Write{Operation: registry.OpUpdate, Object: annotated}, nil},
		{"status IP", &registry.Write{Operation: registry.OpUpdate, Subresource: "status", Object: &networkingv1.Ingress{
			Status: &networkingv1.IngressStatus{LoadBalancer: &networkingv1.IngressLoadBalancerStatus{
				Ingress: []*networkingv1.IngressLoadBalancerIngress{{Ip: "192.0.2.1"}, {Ip: "192.000.2.2"}}}}}},
			[]string{`status.loadBalancer.ingress[1]: non-standard IP address "192.000.2.2" is invalid: use "192.0.2.2"`}},
	}
	for _, tt := range tests {
		if got := ingressWarnings(tt.w); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
