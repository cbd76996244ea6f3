package preemption

import (
	corev1 "skiff.dev/api/core/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/labels"
)

// PDBs are Budgets over the cluster's PodDisruptionBudgets, as Kubernetes'
// preemption reads them: a pod is protected by the budgets of its
// namespace whose selector (neither nil nor empty) picks it and that do
// not list it in status.disruptedPods already; each such budget allows
// status.disruptionsAllowed evictions among the pods split in one call,
// and a pod whose eviction goes past any of its budgets' allowance
// violates it.
type PDBs struct {
	// List returns the budgets (an informer's store).
	List func() []*policyv1.PodDisruptionBudget
}

var _ Budgets = PDBs{}

// Split divides pods into those whose eviction violates a budget and the
// rest.
func (b PDBs) Split(pods []*corev1.Pod) (violating, rest []*corev1.Pod) {
	pdbs := b.List()
	allowed := make([]int32, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.GetStatus().GetDisruptionsAllowed()
	}
	for _, p := range pods {
		violated := false
		for i, pdb := range pdbs {
			if !protects(pdb, p) {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				violated = true
			}
		}
		if violated {
			violating = append(violating, p)
		} else {
			rest = append(rest, p)
		}
	}
	return violating, rest
}

// protects reports whether evicting p spends pdb's allowance.
func protects(pdb *policyv1.PodDisruptionBudget, p *corev1.Pod) bool {
	m := p.GetMetadata()
	if len(m.GetLabels()) == 0 || pdb.GetMetadata().GetNamespace() != m.GetNamespace() {
		return false
	}
	sel := pdb.GetSpec().GetSelector()
	if sel == nil || (len(sel.GetMatchLabels()) == 0 && len(sel.GetMatchExpressions()) == 0) {
		return false // matches nothing here, as in Kubernetes' preemption
	}
	if !labels.Matches(sel, m.GetLabels()) {
		return false
	}
	_, disrupted := pdb.GetStatus().GetDisruptedPods()[m.GetName()]
	return !disrupted
}
