package plugins

import (
	"context"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/labels"
	"skiff.dev/services/scheduler/internal/framework"
)

// NamePodTopologySpread is the plugin's name.
const NamePodTopologySpread = "PodTopologySpread"

const spreadKey = "PodTopologySpread/state"

// PodTopologySpread spreads pods that match a constraint's selector evenly
// over the values of its topology key.
type PodTopologySpread struct{}

var (
	_ framework.PreFilterPlugin      = PodTopologySpread{}
	_ framework.FilterPlugin         = PodTopologySpread{}
	_ framework.NormalizeScorePlugin = PodTopologySpread{}
)

// Name of the plugin.
func (PodTopologySpread) Name() string { return NamePodTopologySpread }

// spread is one constraint's matching pods per topology value.
type spread struct {
	c      *corev1.TopologySpreadConstraint
	counts map[string]int64
	min    int64
	self   int64 // 1 when the pod itself matches the selector
}

// PreFilter counts, per constraint, the matching pods in each domain over
// the nodes the pod could go to.
func (PodTopologySpread) PreFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	var spreads []*spread
	for _, c := range pod.GetSpec().GetTopologySpreadConstraints() {
		s := &spread{c: c, counts: map[string]int64{}}
		if labels.Matches(c.GetLabelSelector(), pod.GetMetadata().GetLabels()) {
			s.self = 1
		}
		for _, n := range state.Nodes {
			value, ok := n.Node.GetMetadata().GetLabels()[c.GetTopologyKey()]
			if !ok || !(NodeAffinity{}).Filter(ctx, state, pod, n).IsSuccess() {
				continue
			}
			if _, seen := s.counts[value]; !seen {
				s.counts[value] = 0
			}
			for _, p := range n.Pods {
				if p.GetMetadata().GetNamespace() == pod.GetMetadata().GetNamespace() && labels.Matches(c.GetLabelSelector(), p.GetMetadata().GetLabels()) {
					s.counts[value]++
				}
			}
		}
		first := true
		for _, v := range s.counts {
			if first || v < s.min {
				s.min, first = v, false
			}
		}
		if c.MinDomains != nil && int32(len(s.counts)) < c.GetMinDomains() {
			s.min = 0
		}
		spreads = append(spreads, s)
	}
	state.Write(spreadKey, spreads)
	return nil
}

func spreadsOf(state *framework.CycleState) []*spread {
	v, _ := state.Read(spreadKey)
	s, _ := v.([]*spread)
	return s
}

// Filter refuses a node where the pod would push a DoNotSchedule
// constraint's skew over maxSkew.
func (PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	for _, s := range spreadsOf(state) {
		if s.c.GetWhenUnsatisfiable() != "DoNotSchedule" {
			continue
		}
		value, ok := n.Node.GetMetadata().GetLabels()[s.c.GetTopologyKey()]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match pod topology spread constraints (missing required label)")
		}
		if s.counts[value]+s.self-s.min > int64(s.c.GetMaxSkew()) {
			return framework.NewStatus(framework.Unschedulable, "node(s) didn't match pod topology spread constraints")
		}
	}
	return nil
}

// Score counts matching pods in the node's domains for ScheduleAnyway
// constraints; fewer is better.
func (PodTopologySpread) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var sum int64
	for _, s := range spreadsOf(state) {
		if s.c.GetWhenUnsatisfiable() != "ScheduleAnyway" {
			continue
		}
		if value, ok := n.Node.GetMetadata().GetLabels()[s.c.GetTopologyKey()]; ok {
			sum += s.counts[value]
		}
	}
	return sum, nil
}

// NormalizeScore makes the least crowded domains score highest.
func (PodTopologySpread) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []int64) *framework.Status {
	normalize(scores, true)
	return nil
}
