package validation

import (
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// validateNodeSelector checks a node selector as Kubernetes does for a
// volume's node affinity: at least one term, each requirement with a
// known operator, the values it needs, a label key and label values; a
// field requirement only on metadata.name.
func validateNodeSelector(sel *corev1.NodeSelector, p *field.Path) field.ErrorList {
	tp := p.Child("nodeSelectorTerms")
	if len(sel.GetNodeSelectorTerms()) == 0 {
		return field.ErrorList{field.Required(tp, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, term := range sel.GetNodeSelectorTerms() {
		for j, r := range term.GetMatchExpressions() {
			errs = append(errs, nodeSelectorRequirement(r, tp.Index(i).Child("matchExpressions").Index(j))...)
		}
		for j, r := range term.GetMatchFields() {
			errs = append(errs, nodeFieldRequirement(r, tp.Index(i).Child("matchFields").Index(j))...)
		}
	}
	return errs
}

func nodeSelectorRequirement(r *corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	vp := p.Child("values")
	switch r.GetOperator() {
	case "In", "NotIn":
		if len(r.GetValues()) == 0 {
			errs = append(errs, field.Required(vp, "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case "Exists", "DoesNotExist":
		if len(r.GetValues()) > 0 {
			errs = append(errs, field.Forbidden(vp, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case "Gt", "Lt":
		if len(r.GetValues()) != 1 {
			errs = append(errs, field.Required(vp, "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(p.Child("operator"), r.GetOperator(), "not a valid selector operator"))
	}
	errs = append(errs, labelName(r.GetKey(), p.Child("key"))...)
	for i, v := range r.GetValues() {
		errs = append(errs, invalid(vp.Index(i), v, validation.IsValidLabelValue(v))...)
	}
	return errs
}

func nodeFieldRequirement(r *corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.GetOperator() {
	case "In", "NotIn":
		if len(r.GetValues()) != 1 {
			errs = append(errs, field.Required(p.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	default:
		errs = append(errs, field.Invalid(p.Child("operator"), r.GetOperator(), "not a valid selector operator"))
	}
	if r.GetKey() != "metadata.name" {
		return append(errs, field.Invalid(p.Child("key"), r.GetKey(), "not a valid field selector key"))
	}
	for i, v := range r.GetValues() {
		errs = append(errs, invalid(p.Child("values").Index(i), v, validation.IsDNS1123Subdomain(v))...)
	}
	return errs
}

// validateTopologySelectorTerm checks a StorageClass's allowed topology
// term and returns it as key → values, to find duplicates.
func validateTopologySelectorTerm(term *corev1.TopologySelectorTerm, p *field.Path) (map[string]map[string]bool, field.ErrorList) {
	var errs field.ErrorList
	exprs := map[string]map[string]bool{}
	for i, r := range term.GetMatchLabelExpressions() {
		rp := p.Child("matchLabelExpressions").Index(i)
		vp := rp.Child("values")
		if len(r.GetValues()) == 0 {
			errs = append(errs, field.Required(vp, ""))
		}
		values := map[string]bool{}
		for j, v := range r.GetValues() {
			if values[v] {
				errs = append(errs, field.Duplicate(vp.Index(j), v))
			}
			values[v] = true
		}
		errs = append(errs, labelName(r.GetKey(), rp.Child("key"))...)
		if _, ok := exprs[r.GetKey()]; ok {
			errs = append(errs, field.Duplicate(rp.Child("key"), r.GetKey()))
		}
		exprs[r.GetKey()] = values
	}
	return exprs, errs
}
