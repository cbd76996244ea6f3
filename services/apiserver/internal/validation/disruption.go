package validation

import (
	"encoding/json"
	"slices"

	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"

	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/field"
)

// unhealthyPodEvictionPolicies are the values of
// spec.unhealthyPodEvictionPolicy, in Kubernetes' order.
var unhealthyPodEvictionPolicies = []string{"AlwaysAllow", "IfHealthyBudget"}

// ValidatePodDisruptionBudget checks a budget's spec: at most one of
// minAvailable and maxUnavailable, each a non-negative number or a
// percentage of at most 100%, a valid selector and a known unhealthy pod
// eviction policy. The spec may change on update, and is checked the
// same way then.
func ValidatePodDisruptionBudget(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	return podDisruptionBudgetSpec(pdb.GetSpec())
}

func podDisruptionBudgetSpec(spec *policyv1.PodDisruptionBudgetSpec) field.ErrorList {
	p := field.NewPath("spec")
	var errs field.ErrorList
	if spec.GetMinAvailable() != nil && spec.GetMaxUnavailable() != nil {
		errs = append(errs, field.Invalid(p, specValue(spec), "minAvailable and maxUnavailable cannot be both set"))
	}
	if v := spec.GetMinAvailable(); v != nil {
		errs = append(errs, positiveIntOrPercent(v, p.Child("minAvailable"))...)
	}
	if v := spec.GetMaxUnavailable(); v != nil {
		errs = append(errs, positiveIntOrPercent(v, p.Child("maxUnavailable"))...)
	}
	errs = append(errs, labelSelector(spec.GetSelector(), false, p.Child("selector"))...)
	if spec.UnhealthyPodEvictionPolicy != nil && !slices.Contains(unhealthyPodEvictionPolicies, spec.GetUnhealthyPodEvictionPolicy()) {
		errs = append(errs, field.NotSupported(p.Child("unhealthyPodEvictionPolicy"), spec.GetUnhealthyPodEvictionPolicy(), unhealthyPodEvictionPolicies))
	}
	return errs
}

// positiveIntOrPercent is Kubernetes' check of a budget's numbers: a
// non-negative integer or a percentage no greater than 100%.
func positiveIntOrPercent(v *metav1.IntOrString, p *field.Path) field.ErrorList {
	errs := intOrPercent(v, p)
	if v.GetType() == 1 && len(errs) == 0 && scaledValue(v) > 100 {
		errs = append(errs, field.Invalid(p, v.GetStrVal(), "must not be greater than 100%"))
	}
	return errs
}

// specValue renders a spec in an error as Kubernetes does, as its JSON.
func specValue(spec *policyv1.PodDisruptionBudgetSpec) any {
	b, err := kjson.Marshal(spec)
	if err != nil {
		return jsonValue{nil}
	}
	return jsonValue{json.RawMessage(b)}
}

// ValidatePodDisruptionBudgetStatusUpdate checks what the disruption
// controller and the eviction subresource write: valid conditions and
// non-negative counts.
func ValidatePodDisruptionBudgetStatusUpdate(pdb, _ *policyv1.PodDisruptionBudget) field.ErrorList {
	s := pdb.GetStatus()
	p := field.NewPath("status")
	errs := metaConditions(s.GetConditions(), p.Child("conditions"))
	errs = append(errs, nonNegative(int64(s.GetDisruptionsAllowed()), p.Child("disruptionsAllowed"))...)
	errs = append(errs, nonNegative(int64(s.GetCurrentHealthy()), p.Child("currentHealthy"))...)
	errs = append(errs, nonNegative(int64(s.GetDesiredHealthy()), p.Child("desiredHealthy"))...)
	return append(errs, nonNegative(int64(s.GetExpectedPods()), p.Child("expectedPods"))...)
}

// metaConditions checks a list of standard conditions with apimachinery's
// rules (type, status, reason, message, observedGeneration, times).
func metaConditions(list []*metav1.Condition, p *field.Path) field.ErrorList {
	out := make([]k8smeta.Condition, len(list))
	for i, c := range list {
		out[i] = k8smeta.Condition{Type: c.GetType(), Status: k8smeta.ConditionStatus(c.GetStatus()),
			ObservedGeneration: c.GetObservedGeneration(), Reason: c.GetReason(), Message: c.GetMessage()}
		if t := c.GetLastTransitionTime(); t != nil {
			out[i].LastTransitionTime = k8smeta.NewTime(t.AsTime())
		}
	}
	return fromK8s(metavalidation.ValidateConditions(out, k8sPath(p)))
}
