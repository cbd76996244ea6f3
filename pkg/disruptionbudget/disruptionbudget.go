// Package disruptionbudget holds what the eviction subresource and the
// disruption controller share about a PodDisruptionBudget's status: the
// DisruptionAllowed condition, kept as Kubernetes keeps it, and which pods
// count as healthy.
package disruptionbudget

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
)

// The DisruptionAllowed condition and its reasons.
const (
	ConditionDisruptionAllowed = "DisruptionAllowed"
	// ReasonSufficientPods: disruptionsAllowed is above zero.
	ReasonSufficientPods = "SufficientPods"
	// ReasonInsufficientPods: no pod may be disrupted now.
	ReasonInsufficientPods = "InsufficientPods"
	// ReasonSyncFailed: the controller could not compute the status.
	ReasonSyncFailed = "SyncFailed"
)

// The values of spec.unhealthyPodEvictionPolicy.
const (
	IfHealthyBudget = "IfHealthyBudget"
	AlwaysAllow     = "AlwaysAllow"
)

// UpdateDisruptionAllowed sets the DisruptionAllowed condition from
// status.disruptionsAllowed, as of status.observedGeneration.
func UpdateDisruptionAllowed(pdb *policyv1.PodDisruptionBudget, now time.Time) {
	c := &metav1.Condition{Type: ConditionDisruptionAllowed, Status: "False", Reason: ReasonInsufficientPods}
	if pdb.GetStatus().GetDisruptionsAllowed() > 0 {
		c.Status, c.Reason = "True", ReasonSufficientPods
	}
	SetCondition(pdb, c, now)
}

// SetCondition puts c into the budget's conditions, observed at the
// status's generation: its transition time is kept when its status does
// not change, and is now otherwise.
func SetCondition(pdb *policyv1.PodDisruptionBudget, c *metav1.Condition, now time.Time) {
	if pdb.Status == nil {
		pdb.Status = &policyv1.PodDisruptionBudgetStatus{}
	}
	c.ObservedGeneration = pdb.Status.GetObservedGeneration()
	c.LastTransitionTime = timestamppb.New(now.Truncate(time.Second))
	for i, old := range pdb.Status.Conditions {
		if old.GetType() != c.GetType() {
			continue
		}
		if old.GetStatus() == c.GetStatus() && old.LastTransitionTime != nil {
			c.LastTransitionTime = old.LastTransitionTime
		}
		pdb.Status.Conditions[i] = c
		return
	}
	pdb.Status.Conditions = append(pdb.Status.Conditions, c)
}

// Condition is the budget's condition of type t, nil when it has none.
func Condition(pdb *policyv1.PodDisruptionBudget, t string) *metav1.Condition {
	for _, c := range pdb.GetStatus().GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// PodReady tells whether the pod's Ready condition is True, what a
// budget counts as healthy.
func PodReady(pod *corev1.Pod) bool {
	for _, c := range pod.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}
