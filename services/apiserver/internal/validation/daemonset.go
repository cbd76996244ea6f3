package validation

import (
	"strconv"

	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	appsv1 "skiff.dev/api/apps/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// DaemonSetTemplateGeneration is the annotation in which apps/v1 keeps a
// DaemonSet's template generation (the field it had in
// extensions/v1beta1): 1 on create, one more at each template change.
const DaemonSetTemplateGeneration = "deprecated.daemonset.template.generation"

var daemonSetStrategies = []string{"RollingUpdate", "OnDelete"}

// ValidateDaemonSet checks a DaemonSet's spec as Kubernetes does: a
// non-empty selector that selects the template's labels, a pod template
// that restarts Always and has no active deadline, and a valid update
// strategy.
func ValidateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	sp, p := ds.GetSpec(), field.NewPath("spec")
	var errs field.ErrorList
	sel := sp.GetSelector()
	if sel == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, validateLabelSelector(sel, p.Child("selector"))...)
	}
	tp := p.Child("template")
	tmpl := sp.GetTemplate()
	if selector, err := k8smeta.LabelSelectorAsSelector(toK8sSelector(sel)); err == nil && !selector.Matches(k8slabels.Set(tmpl.GetMetadata().GetLabels())) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), k8slabels.Set(tmpl.GetMetadata().GetLabels()).String(),
			"`selector` does not match template `labels`"))
	}
	if sel != nil && len(sel.GetMatchLabels())+len(sel.GetMatchExpressions()) == 0 {
		errs = append(errs, field.Invalid(p.Child("selector"), selectorString(sel), "empty selector is invalid for daemonset"))
	}
	errs = append(errs, ValidatePodTemplateSpec(tmpl, tp)...)
	if tmpl != nil {
		if rp := tmpl.GetSpec().GetRestartPolicy(); rp != "Always" {
			errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), rp, []string{"Always"}))
		}
		if tmpl.GetSpec().ActiveDeadlineSeconds != nil {
			errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in DaemonSet is not Supported"))
		}
	}
	errs = append(errs, nonNegative(int64(sp.GetMinReadySeconds()), p.Child("minReadySeconds"))...)
	errs = append(errs, validateDaemonSetStrategy(sp.GetUpdateStrategy(), p.Child("updateStrategy"))...)
	if sp.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(sp.GetRevisionHistoryLimit()), p.Child("revisionHistoryLimit"))...)
	}
	return errs
}

func validateDaemonSetStrategy(st *appsv1.DaemonSetUpdateStrategy, p *field.Path) field.ErrorList {
	switch st.GetType() {
	case "OnDelete":
	case "RollingUpdate":
		if st.GetRollingUpdate() == nil {
			return field.ErrorList{field.Required(p.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdateDaemonSet(st.GetRollingUpdate(), p.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(p, st.GetType(), daemonSetStrategies)}
	}
	return nil
}

// validateRollingUpdateDaemonSet: both bounds are numbers or percentages
// up to 100%, and exactly one of them is not zero.
func validateRollingUpdateDaemonSet(ru *appsv1.RollingUpdateDaemonSet, p *field.Path) field.ErrorList {
	up, sp := p.Child("maxUnavailable"), p.Child("maxSurge")
	errs := intOrPercent(ru.GetMaxUnavailable(), up)
	errs = append(errs, intOrPercent(ru.GetMaxSurge(), sp)...)
	errs = append(errs, notOver100Percent(ru.GetMaxUnavailable(), up)...)
	errs = append(errs, notOver100Percent(ru.GetMaxSurge(), sp)...)
	hasUnavailable, hasSurge := scaledValue(ru.GetMaxUnavailable()) != 0, scaledValue(ru.GetMaxSurge()) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(sp, intOrStringValue(ru.GetMaxSurge()), "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(up, "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

func notOver100Percent(v *metav1.IntOrString, p *field.Path) field.ErrorList {
	if v.GetType() == 1 && len(validation.IsValidPercent(v.GetStrVal())) == 0 && scaledValue(v) > 100 {
		return field.ErrorList{field.Invalid(p, v.GetStrVal(), "must not be greater than 100%")}
	}
	return nil
}

// ValidateDaemonSetUpdate keeps the selector (immutable in apps/v1) and
// checks the template generation: never lower, one more exactly when the
// template changed (the strategy sets it so).
func ValidateDaemonSetUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := selectorUnchanged(ds.GetSpec().GetSelector(), old.GetSpec().GetSelector())
	gen, oldGen := TemplateGeneration(ds), TemplateGeneration(old)
	if gen < oldGen {
		errs = append(errs, field.Invalid(field.NewPath("spec", "templateGeneration"), gen, "must not be decremented"))
	}
	return errs
}

// ValidateDaemonSetStatusUpdate checks the counters of a status write:
// none negative, and the collision count never goes down.
func ValidateDaemonSetStatusUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	st, p := ds.GetStatus(), field.NewPath("status")
	var errs field.ErrorList
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"currentNumberScheduled", int64(st.GetCurrentNumberScheduled())},
		{"numberMisscheduled", int64(st.GetNumberMisscheduled())},
		{"desiredNumberScheduled", int64(st.GetDesiredNumberScheduled())},
		{"numberReady", int64(st.GetNumberReady())},
		{"observedGeneration", st.GetObservedGeneration()},
		{"updatedNumberScheduled", int64(st.GetUpdatedNumberScheduled())},
		{"numberAvailable", int64(st.GetNumberAvailable())},
		{"numberUnavailable", int64(st.GetNumberUnavailable())},
	} {
		errs = append(errs, nonNegative(c.v, p.Child(c.name))...)
	}
	if st != nil && st.CollisionCount != nil {
		errs = append(errs, nonNegative(int64(st.GetCollisionCount()), p.Child("collisionCount"))...)
	}
	if prev := old.GetStatus(); prev != nil && prev.CollisionCount != nil && (st == nil || st.CollisionCount == nil || st.GetCollisionCount() < prev.GetCollisionCount()) {
		errs = append(errs, field.Invalid(p.Child("collisionCount"), st.GetCollisionCount(), "cannot be decremented"))
	}
	return errs
}

// TemplateGeneration reads a DaemonSet's template generation from its
// annotation, 0 when it has none.
func TemplateGeneration(ds *appsv1.DaemonSet) int64 {
	n, _ := strconv.ParseInt(ds.GetMetadata().GetAnnotations()[DaemonSetTemplateGeneration], 10, 64)
	return n
}
