// Package preemption is the heart of Kubernetes' DefaultPreemption
// post-filter: for a pod that fits no node, it finds on one node the
// fewest, least important pods whose removal lets the pod fit
// (SelectVictims), and picks among such nodes the one whose preemption
// does the least harm (PickNode).
//
// Only pods of lower priority than the preemptor are ever victims. On a
// node, every lower-priority pod is removed first; if the pod still does
// not fit, the node cannot help. Then the removed pods are given back one
// at a time, most important first (those whose eviction would violate a
// PodDisruptionBudget before the others), and each that still leaves room
// for the preemptor is reprieved; the rest are the victims.
package preemption

import (
	"math"
	"slices"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// Budgets tells which would-be victims are protected by a
// PodDisruptionBudget: the seam through which disruption budgets reach
// preemption. Split divides pods (ordered most important first) into
// those whose eviction would violate a budget, counting each budget's
// allowed disruptions down as it goes, and the rest, each keeping the
// order given.
type Budgets interface {
	Split(pods []*corev1.Pod) (violating, rest []*corev1.Pod)
}

// NoBudgets protects no pod: a cluster without PodDisruptionBudgets.
type NoBudgets struct{}

var _ Budgets = NoBudgets{}

// Split puts every pod in rest.
func (NoBudgets) Split(pods []*corev1.Pod) (violating, rest []*corev1.Pod) { return nil, pods }

// Priority is a pod's priority: spec.priority, 0 when unset.
func Priority(p *corev1.Pod) int32 { return p.GetSpec().GetPriority() }

// CanPreempt reports whether preemptor may evict victim: only pods of
// lower priority are victims.
func CanPreempt(preemptor, victim *corev1.Pod) bool { return Priority(victim) < Priority(preemptor) }

// StartTime is when a pod started; one not started yet (assumed, or bound
// and not running) counts as starting now, as in Kubernetes.
func StartTime(p *corev1.Pod, now time.Time) time.Time {
	if t := p.GetStatus().GetStartTime(); t != nil {
		return t.AsTime()
	}
	return now
}

// MoreImportant reports whether a is more important than b: higher
// priority, or equal priority and started earlier.
func MoreImportant(a, b *corev1.Pod, now time.Time) bool {
	if pa, pb := Priority(a), Priority(b); pa != pb {
		return pa > pb
	}
	return StartTime(a, now).Before(StartTime(b, now))
}

// Candidate is a node where preemption lets the pod fit, with the pods it
// would evict there.
type Candidate struct {
	Node string
	// Victims are ordered most important first.
	Victims []*corev1.Pod
	// Violations is how many victims' evictions violate a
	// PodDisruptionBudget.
	Violations int
}

// Fits runs the filters for the preemptor against a node as it would be.
type Fits func(n *framework.NodeInfo) *framework.Status

// NoVictims is the reason a node without lower-priority pods cannot help.
const NoVictims = "No preemption victims found for incoming pod"

// SelectVictims finds the victims on node n (which it does not change).
// A node that cannot help gets a status saying why:
// UnschedulableAndUnresolvable when it holds no lower-priority pod, or
// the filters' status when the pod does not fit even without them.
func SelectVictims(pod *corev1.Pod, n *framework.NodeInfo, fits Fits, budgets Budgets, now time.Time) (*Candidate, *framework.Status) {
	var potential []*corev1.Pod
	for _, p := range n.Pods {
		if CanPreempt(pod, p) {
			potential = append(potential, p)
		}
	}
	if len(potential) == 0 {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, NoVictims)
	}
	trial := n.Clone()
	for _, p := range potential {
		trial.RemovePod(p.GetMetadata().GetUid())
	}
	if st := fits(trial); !st.IsSuccess() {
		return nil, st
	}
	slices.SortStableFunc(potential, func(a, b *corev1.Pod) int { return importance(a, b, now) })
	if budgets == nil {
		budgets = NoBudgets{}
	}
	violating, rest := budgets.Split(potential)
	c := &Candidate{Node: n.Name()}
	reprieve := func(p *corev1.Pod) bool {
		trial.AddPod(p)
		if fits(trial).IsSuccess() {
			return true
		}
		trial.RemovePod(p.GetMetadata().GetUid())
		c.Victims = append(c.Victims, p)
		return false
	}
	for _, p := range violating {
		if !reprieve(p) {
			c.Violations++
		}
	}
	for _, p := range rest {
		reprieve(p)
	}
	slices.SortStableFunc(c.Victims, func(a, b *corev1.Pod) int { return importance(a, b, now) })
	return c, nil
}

// importance orders pods most important first.
func importance(a, b *corev1.Pod, now time.Time) int {
	switch {
	case MoreImportant(a, b, now):
		return -1
	case MoreImportant(b, a, now):
		return 1
	}
	return 0
}

// PickNode chooses among candidates as Kubernetes does, each rule
// breaking the ties of the one before: a node needing no victims at
// once; else the fewest PodDisruptionBudget violations; the lowest
// priority of the most important victim; the smallest sum of the victims'
// priorities; the fewest victims; the latest start among the most
// important victims (disturbing the pods that ran the shortest); the
// first. It returns nil for no candidates.
func PickNode(cands []*Candidate, now time.Time) *Candidate {
	if len(cands) == 0 {
		return nil
	}
	for _, c := range cands {
		if len(c.Victims) == 0 {
			return c
		}
	}
	rules := []func(c *Candidate) int64{
		func(c *Candidate) int64 { return -int64(c.Violations) },
		func(c *Candidate) int64 { return -int64(Priority(c.Victims[0])) },
		func(c *Candidate) int64 {
			// Shifted by MaxInt32+1 so negative priorities add up as
			// Kubernetes adds them.
			var sum int64
			for _, v := range c.Victims {
				sum += int64(Priority(v)) + math.MaxInt32 + 1
			}
			return -sum
		},
		func(c *Candidate) int64 { return -int64(len(c.Victims)) },
		func(c *Candidate) int64 { return earliestStartOfTop(c.Victims, now).UnixNano() },
	}
	left := cands
	for _, score := range rules {
		if len(left) == 1 {
			break
		}
		best := int64(math.MinInt64)
		var kept []*Candidate
		for _, c := range left {
			switch s := score(c); {
			case s > best:
				best, kept = s, []*Candidate{c}
			case s == best:
				kept = append(kept, c)
			}
		}
		left = kept
	}
	return left[0]
}

// earliestStartOfTop is the earliest start among the victims of the
// highest priority.
func earliestStartOfTop(victims []*corev1.Pod, now time.Time) time.Time {
	top := Priority(victims[0])
	earliest := StartTime(victims[0], now)
	for _, v := range victims[1:] {
		if p := Priority(v); p > top {
			top, earliest = p, StartTime(v, now)
		} else if p == top && StartTime(v, now).Before(earliest) {
			earliest = StartTime(v, now)
		}
	}
	return earliest
}

// TerminatingByPreemption reports whether a pod is being deleted because
// the scheduler preempted it.
func TerminatingByPreemption(p *corev1.Pod) bool {
	if p.GetMetadata().GetDeletionTimestamp() == nil {
		return false
	}
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == ConditionDisruptionTarget {
			return c.GetStatus() == "True" && c.GetReason() == ReasonPreemptionByScheduler
		}
	}
	return false
}

// The condition a victim gets before it is deleted.
const (
	ConditionDisruptionTarget   = "DisruptionTarget"
	ReasonPreemptionByScheduler = "PreemptionByScheduler"
)
