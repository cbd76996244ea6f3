package kinds

import (
	schedulingv1 "skiff.dev/api/scheduling/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// priorityClasses is scheduling.k8s.io/v1 PriorityClass: cluster-scoped,
// short name pc, no status. Its value and preemption policy never change;
// that only one class is the global default is the Priority admission
// plugin's rule.
func priorityClasses() *registry.Resource {
	return &registry.Resource{
		Group: "scheduling.k8s.io", Version: "v1", Plural: "priorityclasses", Singular: "priorityclass",
		Kind: "PriorityClass", ListKind: "PriorityClassList", ShortNames: []string{"pc"},
		New: newOf[schedulingv1.PriorityClass](), NewList: newOf[schedulingv1.PriorityClassList](),
		Strategy: priorityClassStrategy,
	}
}

var priorityClassStrategy = registry.Strategy{
	Default:        mutate(defaults.PriorityClass),
	Validate:       check(validate.ValidatePriorityClass),
	ValidateUpdate: checkUpdate(validate.ValidatePriorityClassUpdate),
}
