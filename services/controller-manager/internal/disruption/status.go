package disruption

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/disruptionbudget"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
)

// countHealthy counts the Ready pods that are not being deleted and whose
// eviction was not granted in the last DeletionTimeout.
func countHealthy(pods []*corev1.Pod, disrupted map[string]*timestamppb.Timestamp, now time.Time) int32 {
	var n int32
	for _, pod := range pods {
		if pod.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		if at, ok := disrupted[pod.GetMetadata().GetName()]; ok && at.AsTime().Add(DeletionTimeout).After(now) {
			continue
		}
		if disruptionbudget.PodReady(pod) {
			n++
		}
	}
	return n
}

// disruptedPods keeps the budget's disruptedPods entries of pods that
// are still there, not yet being deleted, and within DeletionTimeout of
// their eviction; recheck is when the first kept entry expires (zero
// when none is kept). A pod past its timeout gets a NotDeleted event.
func (dc *Controller) disruptedPods(pods []*corev1.Pod, pdb *policyv1.PodDisruptionBudget, now time.Time) (map[string]*timestamppb.Timestamp, time.Time) {
	was := pdb.GetStatus().GetDisruptedPods()
	out := map[string]*timestamppb.Timestamp{}
	var recheck time.Time
	for _, pod := range pods {
		at, ok := was[pod.GetMetadata().GetName()]
		if !ok || pod.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		expiry := at.AsTime().Add(DeletionTimeout)
		if expiry.Before(now) {
			// Kubernetes names the budget's namespace twice here.
			dc.Events.Eventf(pod, events.Warning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't",
				pdb.GetMetadata().GetNamespace(), pdb.GetMetadata().GetNamespace())
			continue
		}
		if recheck.IsZero() || expiry.Before(recheck) {
			recheck = expiry
		}
		out[pod.GetMetadata().GetName()] = at
	}
	return out, recheck
}

// writeStatus writes the computed status unless the stored one already
// says the same.
func (dc *Controller) writeStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, healthy, desired, expected int32,
	disrupted map[string]*timestamppb.Timestamp, now time.Time) error {
	allowed := healthy - desired
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	st := pdb.GetStatus()
	gen := pdb.GetMetadata().GetGeneration()
	if st.GetCurrentHealthy() == healthy && st.GetDesiredHealthy() == desired && st.GetExpectedPods() == expected &&
		st.GetDisruptionsAllowed() == allowed && sameTimes(st.GetDisruptedPods(), disrupted) &&
		st.GetObservedGeneration() == gen && conditionUpToDate(pdb) {
		return nil
	}
	next := clone(pdb)
	next.Status = &policyv1.PodDisruptionBudgetStatus{
		CurrentHealthy: healthy, DesiredHealthy: desired, ExpectedPods: expected, DisruptionsAllowed: allowed,
		DisruptedPods: disrupted, ObservedGeneration: gen, Conditions: next.GetStatus().GetConditions(),
	}
	disruptionbudget.UpdateDisruptionAllowed(next, now)
	if _, err := dc.c.PolicyV1().PodDisruptionBudgets(next.GetMetadata().GetNamespace()).UpdateStatus(ctx, next, client.WriteOptions{}); err != nil {
		return fmt.Errorf("write the status of poddisruptionbudget %s: %w", informer.KeyOf(pdb), err)
	}
	return nil
}

// conditionUpToDate: the DisruptionAllowed condition agrees with
// disruptionsAllowed, at the budget's generation.
func conditionUpToDate(pdb *policyv1.PodDisruptionBudget) bool {
	c := disruptionbudget.Condition(pdb, disruptionbudget.ConditionDisruptionAllowed)
	if c == nil || pdb.GetStatus().GetObservedGeneration() != pdb.GetMetadata().GetGeneration() ||
		c.GetObservedGeneration() != pdb.GetStatus().GetObservedGeneration() {
		return false
	}
	if pdb.GetStatus().GetDisruptionsAllowed() > 0 {
		return c.GetStatus() == "True" && c.GetReason() == disruptionbudget.ReasonSufficientPods
	}
	return c.GetStatus() == "False" && c.GetReason() == disruptionbudget.ReasonInsufficientPods
}

func sameTimes(a, b map[string]*timestamppb.Timestamp) bool {
	return maps.EqualFunc(a, b, func(x, y *timestamppb.Timestamp) bool { return x.AsTime().Equal(y.AsTime()) })
}

func clone(pdb *policyv1.PodDisruptionBudget) *policyv1.PodDisruptionBudget {
	out := proto.Clone(pdb).(*policyv1.PodDisruptionBudget)
	if out.Status == nil {
		out.Status = &policyv1.PodDisruptionBudgetStatus{}
	}
	return out
}

// selectorText renders a selector in an event as Kubernetes prints its
// LabelSelector.
func selectorText(sel *metav1.LabelSelector) string {
	if sel == nil {
		return "nil"
	}
	var b strings.Builder
	b.WriteString("&LabelSelector{MatchLabels:map[string]string{")
	for _, k := range slices.Sorted(maps.Keys(sel.GetMatchLabels())) {
		fmt.Fprintf(&b, "%s: %s,", k, sel.GetMatchLabels()[k])
	}
	b.WriteString("},MatchExpressions:[]LabelSelectorRequirement{")
	for _, r := range sel.GetMatchExpressions() {
		fmt.Fprintf(&b, "LabelSelectorRequirement{Key:%s,Operator:%s,Values:%v,},", r.GetKey(), r.GetOperator(), r.GetValues())
	}
	b.WriteString("},}")
	return b.String()
}
