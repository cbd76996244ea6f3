package validation

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// standardFinalizers are the finalizer names Kubernetes allows without a
// domain.
var standardFinalizers = []string{"kubernetes", "orphan", "foregroundDeletion"}

// ValidateNamespace checks that each finalizer is a qualified name, and
// either a standard one or domain-qualified.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "finalizers")
	for _, f := range ns.GetSpec().GetFinalizers() {
		errs = append(errs, invalid(p, f, validation.IsQualifiedName(f))...)
		if !strings.Contains(f, "/") && !slices.Contains(standardFinalizers, f) {
			errs = append(errs, field.Invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// ValidateNode checks a node's pod CIDRs and taints: qualified keys, label
// values, a known effect, and one taint per key and effect.
func ValidateNode(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	sp := n.GetSpec()
	for i, cidr := range sp.GetPodCidrs() {
		errs = append(errs, fromK8s(validation.IsValidCIDRForLegacyField(k8sPath(field.NewPath("spec", "podCIDRs").Index(i)), cidr, true, nil))...)
	}
	seen := map[string]bool{}
	for i, t := range sp.GetTaints() {
		p := field.NewPath("spec", "taints").Index(i)
		errs = append(errs, labelName(t.GetKey(), p.Child("key"))...)
		if msgs := validation.IsValidLabelValue(t.GetValue()); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("value"), t.GetValue(), strings.Join(msgs, ";")))
		}
		errs = append(errs, taintEffect(t.GetEffect(), p.Child("effect"))...)
		key := t.GetEffect() + "\x00" + t.GetKey()
		if seen[key] {
			d := field.Duplicate(p, t.GetKey()+":"+t.GetEffect())
			d.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, d)
			continue
		}
		seen[key] = true
	}
	return errs
}

// ValidateLease checks durations and counters.
func ValidateLease(l *coordinationv1.Lease) field.ErrorList {
	var errs field.ErrorList
	sp, p := l.GetSpec(), field.NewPath("spec")
	if sp.LeaseDurationSeconds != nil && sp.GetLeaseDurationSeconds() <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), sp.GetLeaseDurationSeconds(), "must be greater than 0"))
	}
	if sp.LeaseTransitions != nil && sp.GetLeaseTransitions() < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), sp.GetLeaseTransitions(), "must be greater than or equal to 0"))
	}
	return errs
}
