package kinds

import (
	"fmt"

	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"

	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/registry"
)

// networkPolicyWarnings names the ipBlock CIDRs written in a form
// Kubernetes accepts but warns about (leading zeros, host bits set, an
// IPv4-mapped address), on create and update alike.
func networkPolicyWarnings(w *registry.Write) []string {
	sp := w.Object.(*networkingv1.NetworkPolicy).GetSpec()
	var out []string
	blocks := func(peers []*networkingv1.NetworkPolicyPeer, p *k8sfield.Path) {
		for j, peer := range peers {
			b := peer.GetIpBlock()
			if b == nil {
				continue
			}
			bp := p.Index(j).Child("ipBlock")
			out = append(out, k8svalidation.GetWarningsForCIDR(bp.Child("cidr"), b.GetCidr())...)
			for k, ex := range b.GetExcept() {
				out = append(out, k8svalidation.GetWarningsForCIDR(bp.Child("except").Index(k), ex)...)
			}
		}
	}
	for i, r := range sp.GetIngress() {
		blocks(r.GetFrom(), k8sfield.NewPath("spec", "ingress").Index(i).Child("from"))
	}
	for i, r := range sp.GetEgress() {
		blocks(r.GetTo(), k8sfield.NewPath("spec", "egress").Index(i).Child("to"))
	}
	return out
}

// ingressWarnings: a new Ingress classed only by the old annotation is
// told to use spec.ingressClassName; a status write is told about ingress
// point IPs in a non-standard form.
func ingressWarnings(w *registry.Write) []string {
	ing := w.Object.(*networkingv1.Ingress)
	switch {
	case w.Operation == registry.OpCreate:
		const annotation = "kubernetes.io/ingress.class"
		if _, ok := ing.GetMetadata().GetAnnotations()[annotation]; ok && (ing.GetSpec() == nil || ing.GetSpec().IngressClassName == nil) {
			return []string{fmt.Sprintf("annotation %q is deprecated, please use 'spec.ingressClassName' instead", annotation)}
		}
	case w.Subresource == "status":
		var out []string
		p := k8sfield.NewPath("status", "loadBalancer", "ingress")
		for i, in := range ing.GetStatus().GetLoadBalancer().GetIngress() {
			if in.GetIp() != "" {
				out = append(out, k8svalidation.GetWarningsForIP(p.Index(i), in.GetIp())...)
			}
		}
		return out
	}
	return nil
}
