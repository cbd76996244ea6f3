package validation

import (
	"encoding/json"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// labelMap renders a map of labels in a message as Kubernetes does: as
// JSON.
type labelMap map[string]string

func (m labelMap) String() string {
	b, err := json.Marshal(map[string]string(m))
	if err != nil {
		return "{}"
	}
	return string(b)
}

// ValidateReplicationController checks a ReplicationController's spec as
// Kubernetes does: a non-empty selector (a map of labels) that matches the
// template's labels, replicas and minReadySeconds not negative, and a pod
// template that restarts Always and has no active deadline.
func ValidateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	sp, p := rc.GetSpec(), field.NewPath("spec")
	errs := nonNegative(int64(sp.GetMinReadySeconds()), p.Child("minReadySeconds"))
	if len(sp.GetSelector()) == 0 {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	}
	if sp.Replicas == nil {
		errs = append(errs, field.Required(p.Child("replicas"), ""))
	} else {
		errs = append(errs, nonNegative(int64(sp.GetReplicas()), p.Child("replicas"))...)
	}
	return append(errs, validateRCTemplate(sp.GetTemplate(), sp.GetSelector(), p.Child("template"))...)
}

func validateRCTemplate(tmpl *corev1.PodTemplateSpec, selector map[string]string, tp *field.Path) field.ErrorList {
	if tmpl == nil {
		return field.ErrorList{field.Required(tp, "")}
	}
	var errs field.ErrorList
	podLabels := tmpl.GetMetadata().GetLabels()
	for k, v := range selector {
		if got, ok := podLabels[k]; !ok || got != v {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), labelMap(podLabels), "`selector` does not match template `labels`"))
			break
		}
	}
	errs = append(errs, ValidatePodTemplateSpec(tmpl, tp)...)
	if rp := tmpl.GetSpec().GetRestartPolicy(); rp != "Always" {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), rp, []string{"Always"}))
	}
	if tmpl.GetSpec().ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

// ValidateReplicationControllerStatus checks a status write: counts not
// negative, none above status.replicas, available not above ready.
func ValidateReplicationControllerStatus(rc, _ *corev1.ReplicationController) field.ErrorList {
	st, p := rc.GetStatus(), field.NewPath("status")
	var errs field.ErrorList
	for _, c := range []struct {
		name string
		v    int64
	}{{"replicas", int64(st.GetReplicas())}, {"fullyLabeledReplicas", int64(st.GetFullyLabeledReplicas())},
		{"readyReplicas", int64(st.GetReadyReplicas())}, {"availableReplicas", int64(st.GetAvailableReplicas())},
		{"observedGeneration", st.GetObservedGeneration()}} {
		errs = append(errs, nonNegative(c.v, p.Child(c.name))...)
	}
	const msg = "cannot be greater than status.replicas"
	if st.GetFullyLabeledReplicas() > st.GetReplicas() {
		errs = append(errs, field.Invalid(p.Child("fullyLabeledReplicas"), st.GetFullyLabeledReplicas(), msg))
	}
	if st.GetReadyReplicas() > st.GetReplicas() {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), st.GetReadyReplicas(), msg))
	}
	if st.GetAvailableReplicas() > st.GetReplicas() {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), st.GetAvailableReplicas(), msg))
	}
	if st.GetAvailableReplicas() > st.GetReadyReplicas() {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), st.GetAvailableReplicas(), "cannot be greater than readyReplicas"))
	}
	return errs
}
