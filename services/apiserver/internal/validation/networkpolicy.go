package validation

import (
	"net"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation"
	netutils "k8s.io/utils/net"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	policyProtocols = []string{"TCP", "UDP", "SCTP"}
	policyTypes     = []string{"Ingress", "Egress"}
)

// policyOptions are the leniencies an update keeps for what the stored
// policy already holds, as Kubernetes does: invalid label values in
// selectors when its podSelector had one, and the CIDRs it had.
type policyOptions struct {
	allowInvalidLabelValues bool
	knownCIDRs              []string
}

// ValidateNetworkPolicy checks a new NetworkPolicy: its pod selector,
// each rule's ports and peers, and the policy types.
func ValidateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	return networkPolicySpec(np.GetSpec(), policyOptions{}, field.NewPath("spec"))
}

// ValidateNetworkPolicyUpdate checks a changed NetworkPolicy as a new
// one, but lets it keep the CIDRs and selector label values the stored
// policy had even where they would not pass today.
func ValidateNetworkPolicyUpdate(np, old *networkingv1.NetworkPolicy) field.ErrorList {
	opts := policyOptions{
		allowInvalidLabelValues: len(labelSelector(podSelectorOf(old.GetSpec()), false, field.NewPath(""))) > 0,
		knownCIDRs:              policyCIDRs(old.GetSpec()),
	}
	return networkPolicySpec(np.GetSpec(), opts, field.NewPath("spec"))
}

func podSelectorOf(sp *networkingv1.NetworkPolicySpec) *metav1.LabelSelector {
	if sp.GetPodSelector() == nil {
		return &metav1.LabelSelector{}
	}
	return sp.GetPodSelector()
}

// policyCIDRs lists every CIDR of a policy's ipBlocks, excepts included.
func policyCIDRs(sp *networkingv1.NetworkPolicySpec) []string {
	var out []string
	add := func(peers []*networkingv1.NetworkPolicyPeer) {
		for _, peer := range peers {
			if b := peer.GetIpBlock(); b != nil {
				out = append(out, b.GetCidr())
				out = append(out, b.GetExcept()...)
			}
		}
	}
	for _, r := range sp.GetIngress() {
		add(r.GetFrom())
	}
	for _, r := range sp.GetEgress() {
		add(r.GetTo())
	}
	return out
}

func networkPolicySpec(sp *networkingv1.NetworkPolicySpec, opts policyOptions, p *field.Path) field.ErrorList {
	errs := labelSelector(podSelectorOf(sp), opts.allowInvalidLabelValues, p.Child("podSelector"))
	for i, r := range sp.GetIngress() {
		rp := p.Child("ingress").Index(i)
		errs = append(errs, networkPolicyRule(r.GetPorts(), r.GetFrom(), opts, rp, rp.Child("from"))...)
	}
	for i, r := range sp.GetEgress() {
		rp := p.Child("egress").Index(i)
		errs = append(errs, networkPolicyRule(r.GetPorts(), r.GetTo(), opts, rp, rp.Child("to"))...)
	}
	return append(errs, policyTypeList(sp.GetPolicyTypes(), p.Child("policyTypes"))...)
}

func networkPolicyRule(ports []*networkingv1.NetworkPolicyPort, peers []*networkingv1.NetworkPolicyPeer, opts policyOptions, p, peersPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, port := range ports {
		errs = append(errs, policyPort(port, p.Child("ports").Index(i))...)
	}
	for i, peer := range peers {
		errs = append(errs, policyPeer(peer, opts, peersPath.Index(i))...)
	}
	return errs
}

func policyTypeList(types []string, p *field.Path) field.ErrorList {
	if len(types) > len(policyTypes) {
		return field.ErrorList{field.Invalid(p, jsonValue{types}, "may not specify more than two policyTypes")}
	}
	var errs field.ErrorList
	for i, t := range types {
		if !slices.Contains(policyTypes, t) {
			errs = append(errs, field.NotSupported(p.Index(i), t, policyTypes))
		}
	}
	return errs
}

// policyPort checks a port: a known protocol, a port number (with an end
// port not below it) or a port name, and an end port only after a number.
func policyPort(port *networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil && !slices.Contains(policyProtocols, port.GetProtocol()) {
		errs = append(errs, field.NotSupported(p.Child("protocol"), port.GetProtocol(), policyProtocols))
	}
	num, end := port.GetPort(), port.EndPort
	switch {
	case num == nil:
		if end != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *end, "may not be specified when `port` is not specified"))
		}
	case num.GetType() == 0:
		errs = append(errs, invalid(p.Child("port"), num.GetIntVal(), validation.IsValidPortNum(int(num.GetIntVal())))...)
		if end != nil {
			if *end < num.GetIntVal() {
				errs = append(errs, field.Invalid(p.Child("endPort"), num.GetIntVal(), "must be greater than or equal to `port`"))
			}
			errs = append(errs, invalid(p.Child("endPort"), *end, validation.IsValidPortNum(int(*end)))...)
		}
	default:
		if end != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *end, "may not be specified when `port` is non-numeric"))
		}
		errs = append(errs, invalid(p.Child("port"), num.GetStrVal(), validation.IsValidPortName(num.GetStrVal()))...)
	}
	return errs
}

// policyPeer checks a peer: at least one of its selectors or an ipBlock,
// and an ipBlock alone.
func policyPeer(peer *networkingv1.NetworkPolicyPeer, opts policyOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if sel := peer.GetPodSelector(); sel != nil {
		n++
		errs = append(errs, labelSelector(sel, opts.allowInvalidLabelValues, p.Child("podSelector"))...)
	}
	if sel := peer.GetNamespaceSelector(); sel != nil {
		n++
		errs = append(errs, labelSelector(sel, opts.allowInvalidLabelValues, p.Child("namespaceSelector"))...)
	}
	if b := peer.GetIpBlock(); b != nil {
		n++
		errs = append(errs, ipBlock(b, opts.knownCIDRs, p.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(p, "must specify a peer"))
	case n > 1 && peer.GetIpBlock() != nil:
		errs = append(errs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// ipBlock checks a CIDR and its excepts, each a CIDR strictly inside it.
// The CIDRs are a legacy field: Kubernetes 1.34 accepts the sloppy forms
// (leading zeros, host bits set) unless its StrictIPCIDRValidation gate is
// on, which it is not by default.
func ipBlock(b *networkingv1.IPBlock, known []string, p *field.Path) field.ErrorList {
	if b.GetCidr() == "" {
		return field.ErrorList{field.Required(p.Child("cidr"), "")}
	}
	errs := legacyCIDR(b.GetCidr(), known, p.Child("cidr"))
	_, outer, err := netutils.ParseCIDRSloppy(b.GetCidr())
	if err != nil {
		return errs
	}
	for i, ex := range b.GetExcept() {
		ep := p.Child("except").Index(i)
		errs = append(errs, legacyCIDR(ex, known, ep)...)
		_, inner, err := netutils.ParseCIDRSloppy(ex)
		if err != nil {
			continue
		}
		if !strictSubnet(inner, outer) {
			errs = append(errs, field.Invalid(ep, ex, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

func legacyCIDR(v string, known []string, p *field.Path) field.ErrorList {
	return fromK8s(validation.IsValidCIDRForLegacyField(k8sPath(p), v, false, known))
}

// strictSubnet says whether inner lies inside outer and is smaller.
func strictSubnet(inner, outer *net.IPNet) bool {
	outerLen, _ := outer.Mask.Size()
	innerLen, _ := inner.Mask.Size()
	return outer.Contains(inner.IP) && outerLen < innerLen
}
