package kinds

import (
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// podDisruptionBudgets is policy/v1 PodDisruptionBudget: namespaced,
// short name pdb, with the status subresource the disruption controller
// and the pods' eviction subresource write. Its spec may change (since
// Kubernetes 1.15); a change bumps the generation, and evictions wait
// until the controller has observed it.
func podDisruptionBudgets() *registry.Resource {
	return &registry.Resource{
		Group: "policy", Version: "v1", Plural: "poddisruptionbudgets", Singular: "poddisruptionbudget",
		Kind: "PodDisruptionBudget", ListKind: "PodDisruptionBudgetList", ShortNames: []string{"pdb"},
		Namespaced: true, HasStatus: true,
		New: newOf[policyv1.PodDisruptionBudget](), NewList: newOf[policyv1.PodDisruptionBudgetList](),
		Strategy: podDisruptionBudgetStrategy,
	}
}

var podDisruptionBudgetStrategy = registry.Strategy{
	Validate:             check(validate.ValidatePodDisruptionBudget),
	ValidateStatusUpdate: checkUpdate(validate.ValidatePodDisruptionBudgetStatusUpdate),
}
