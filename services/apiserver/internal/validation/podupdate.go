package validation

import (
	"math"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
)

// podUpdateForbidden is Kubernetes' message for a pod spec change it does
// not allow.
const podUpdateForbidden = "pod updates may not change fields other than `spec.containers[*].image`," +
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// ValidatePodUpdate allows only the spec changes Kubernetes allows:
// container images, a shorter active deadline, added tolerations, and a
// negative grace period raised to 1. spec.nodeName may be set once (the
// binding); after that it, like everything else, is fixed.
func ValidatePodUpdate(p, old *corev1.Pod) field.ErrorList {
	path := field.NewPath("spec")
	// Default the old pod too, so that a pod stored before a default was
	// added can still be updated.
	old = proto.Clone(old).(*corev1.Pod)
	defaults.Pod(old)
	spec, oldSpec := p.GetSpec(), old.GetSpec()
	var errs field.ErrorList
	for _, list := range []struct {
		name     string
		now, was []*corev1.Container
	}{{"containers", spec.GetContainers(), oldSpec.GetContainers()}, {"initContainers", spec.GetInitContainers(), oldSpec.GetInitContainers()}} {
		if len(list.now) != len(list.was) {
			return append(errs, field.Forbidden(path.Child(list.name), "pod updates may not add or remove containers"))
		}
		for i, c := range list.now {
			if c.GetImage() == "" {
				errs = append(errs, field.Required(path.Child(list.name).Index(i).Child("image"), ""))
			}
		}
	}
	if derrs := activeDeadlineUpdate(spec, oldSpec, path.Child("activeDeadlineSeconds")); len(derrs) > 0 {
		return append(errs, derrs...)
	}
	// Put the old values of what may change into a copy of the new spec:
	// if it still differs from the old spec, something else changed.
	munged := proto.Clone(spec).(*corev1.PodSpec)
	if munged == nil {
		munged = &corev1.PodSpec{}
	}
	for i, c := range munged.Containers {
		c.Image = oldSpec.GetContainers()[i].GetImage()
	}
	for i, c := range munged.InitContainers {
		c.Image = oldSpec.GetInitContainers()[i].GetImage()
	}
	munged.ActiveDeadlineSeconds = oldSpec.ActiveDeadlineSeconds
	munged.EphemeralContainers = oldSpec.GetEphemeralContainers()
	errs = append(errs, ephemeralKept(spec.GetEphemeralContainers(), oldSpec.GetEphemeralContainers(), path.Child("ephemeralContainers"))...)
	munged.Tolerations = oldSpec.GetTolerations()
	if oldSpec.TerminationGracePeriodSeconds != nil && oldSpec.GetTerminationGracePeriodSeconds() < 0 && munged.GetTerminationGracePeriodSeconds() == 1 {
		munged.TerminationGracePeriodSeconds = oldSpec.TerminationGracePeriodSeconds
	}
	if oldSpec.GetNodeName() == "" {
		munged.NodeName = oldSpec.NodeName
	}
	if !proto.Equal(munged, oldSpec) {
		errs = append(errs, field.Forbidden(path, podUpdateForbidden))
	}
	return append(errs, tolerationsKept(spec.GetTolerations(), oldSpec.GetTolerations(), path.Child("tolerations"))...)
}

// activeDeadlineUpdate: the deadline may be set or shortened, never
// lengthened or removed.
func activeDeadlineUpdate(spec, old *corev1.PodSpec, p *field.Path) field.ErrorList {
	switch {
	case spec.ActiveDeadlineSeconds != nil:
		v := spec.GetActiveDeadlineSeconds()
		if v < 0 || v > math.MaxInt32 {
			return field.ErrorList{field.Invalid(p, v, validation.InclusiveRangeError(0, math.MaxInt32))}
		}
		if old.ActiveDeadlineSeconds != nil && old.GetActiveDeadlineSeconds() < v {
			return field.ErrorList{field.Invalid(p, v, "must be less than or equal to previous value")}
		}
	case old.ActiveDeadlineSeconds != nil:
		return field.ErrorList{field.Invalid(p, "null", "must not update from a positive integer to nil value")}
	}
	return nil
}

// tolerationsKept: every old toleration must still be there; only a
// NoExecute toleration's tolerationSeconds may change, and only down.
func tolerationsKept(now, was []*corev1.Toleration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, old := range was {
		found := false
		for _, t := range now {
			if sameToleration(t, old) {
				found = true
				break
			}
		}
		if !found {
			errs = append(errs, field.Forbidden(p, "existing toleration can not be modified except its tolerationSeconds"))
			return errs
		}
	}
	return errs
}

func sameToleration(t, old *corev1.Toleration) bool {
	if t.GetKey() != old.GetKey() || t.GetOperator() != old.GetOperator() && !(t.GetOperator() == "" && old.GetOperator() == "Equal" || t.GetOperator() == "Equal" && old.GetOperator() == "") ||
		t.GetValue() != old.GetValue() || t.GetEffect() != old.GetEffect() {
		return false
	}
	if t.GetEffect() == "NoExecute" && old.TolerationSeconds != nil && t.TolerationSeconds != nil {
		return t.GetTolerationSeconds() <= old.GetTolerationSeconds()
	}
	return (t.TolerationSeconds == nil) == (old.TolerationSeconds == nil) && t.GetTolerationSeconds() == old.GetTolerationSeconds()
}
