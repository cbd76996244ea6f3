package validation

import (
	"fmt"
	"strings"

	schedulingv1 "skiff.dev/api/scheduling/v1"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/priorityclasses"
)

// preemptionPoliciesInOrder are the policies in the order Kubernetes
// lists them in its messages.
var preemptionPoliciesInOrder = []string{priorityclasses.PreemptLowerPriority, priorityclasses.PreemptNever}

// ValidatePriorityClass checks a PriorityClass: names with the system
// prefix belong to the system classes, other classes' values are at most
// 1000000000, and the preemption policy is a known one.
// (That only one class is the global default is the Priority admission
// plugin's check, as in Kubernetes.)
func ValidatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	name := pc.GetMetadata().GetName()
	if strings.HasPrefix(name, priorityclasses.SystemPrefix) {
		if err := priorityclasses.CheckSystem(name, pc.GetValue(), pc.GetGlobalDefault()); err != nil {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				"priority class names with '"+priorityclasses.SystemPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.GetValue() > priorityclasses.HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"),
			fmt.Sprintf("maximum allowed value of a user defined priority is %d", priorityclasses.HighestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		errs = append(errs, oneOf(pc.GetPreemptionPolicy(), preemptionPoliciesInOrder, field.NewPath("preemptionPolicy"))...)
	}
	return errs
}

// ValidatePriorityClassUpdate keeps the value and the preemption policy.
func ValidatePriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if pc.GetValue() != old.GetValue() {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	if pc.GetPreemptionPolicy() != old.GetPreemptionPolicy() || (pc.PreemptionPolicy == nil) != (old.PreemptionPolicy == nil) {
		errs = append(errs, immutable(field.NewPath("preemptionPolicy"), pc.GetPreemptionPolicy()))
	}
	return errs
}
