package validation

import (
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	nodev1 "skiff.dev/api/node/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// ValidateRuntimeClass checks a RuntimeClass: a handler that is a DNS
// label, an overhead checked as container limits are, and scheduling
// constraints that are valid labels and tolerations.
func ValidateRuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	errs := invalid(field.NewPath("handler"), rc.GetHandler(), validation.IsDNS1123Label(rc.GetHandler()))
	if o := rc.GetOverhead(); o != nil {
		// Kubernetes checks podFixed as the limits of a container at
		// overhead, so its causes read overhead.limits[cpu].
		errs = append(errs, validateResources(&corev1.ResourceRequirements{Limits: o.GetPodFixed()}, field.NewPath("overhead"))...)
	}
	if s := rc.GetScheduling(); s != nil {
		p := field.NewPath("scheduling")
		errs = append(errs, labels(s.GetNodeSelector(), p.Child("nodeSelector"))...)
		errs = append(errs, validateSchedulingTolerations(s.GetTolerations(), p.Child("tolerations"))...)
	}
	return errs
}

// validateSchedulingTolerations checks tolerations as a pod's are (at
// tolerations.tolerations, as Kubernetes nests the path), each once.
func validateSchedulingTolerations(ts []*corev1.Toleration, p *field.Path) field.ErrorList {
	errs := validateTolerations(ts, p.Child("tolerations"))
	type key struct{ key, operator, value, effect string }
	seen := map[key]bool{}
	for i, t := range ts {
		k := key{t.GetKey(), t.GetOperator(), t.GetValue(), t.GetEffect()}
		if seen[k] {
			errs = append(errs, field.Duplicate(p.Index(i), t))
		}
		seen[k] = true
	}
	return errs
}

// ValidateRuntimeClassUpdate keeps the handler.
func ValidateRuntimeClassUpdate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	if rc.GetHandler() != old.GetHandler() {
		return field.ErrorList{immutable(field.NewPath("handler"), rc.GetHandler())}
	}
	return nil
}
