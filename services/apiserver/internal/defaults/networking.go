package defaults

import (
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
)

// NetworkPolicy: every port's protocol is TCP unless given, and a policy
// that names no policy types isolates ingress, and egress too when it has
// egress rules, as Kubernetes' defaulting does.
func NetworkPolicy(np *networkingv1.NetworkPolicy) {
	if np.Spec == nil {
		np.Spec = &networkingv1.NetworkPolicySpec{}
	}
	sp := np.Spec
	if sp.PodSelector == nil {
		sp.PodSelector = &metav1.LabelSelector{}
	}
	for _, r := range sp.GetIngress() {
		defaultPolicyPorts(r.GetPorts())
	}
	for _, r := range sp.GetEgress() {
		defaultPolicyPorts(r.GetPorts())
	}
	if len(sp.PolicyTypes) == 0 {
		sp.PolicyTypes = []string{"Ingress"}
		if len(sp.Egress) > 0 {
			sp.PolicyTypes = append(sp.PolicyTypes, "Egress")
		}
	}
}

func defaultPolicyPorts(ports []*networkingv1.NetworkPolicyPort) {
	for _, p := range ports {
		if p != nil && p.Protocol == nil {
			p.Protocol = proto.String("TCP")
		}
	}
}

// IngressClass: parameters without a scope are cluster-scoped.
func IngressClass(ic *networkingv1.IngressClass) {
	if p := ic.GetSpec().GetParameters(); p != nil && p.Scope == nil {
		p.Scope = proto.String("Cluster")
	}
}
