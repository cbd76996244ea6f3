package plugins

import (
	"context"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/labels"
	"skiff.dev/services/scheduler/internal/framework"
)

// NameInterPodAffinity is the plugin's name.
const NameInterPodAffinity = "InterPodAffinity"

const affinityKey = "InterPodAffinity/state"

// InterPodAffinity places pods near (affinity) or away from (anti-affinity)
// pods matching their terms, within a topology domain, and honours the
// anti-affinity of pods already running.
type InterPodAffinity struct{}

var (
	_ framework.PreFilterPlugin      = InterPodAffinity{}
	_ framework.FilterPlugin         = InterPodAffinity{}
	_ framework.NormalizeScorePlugin = InterPodAffinity{}
)

// Name of the plugin.
func (InterPodAffinity) Name() string { return NameInterPodAffinity }

// domain is a topology key and value.
type domain struct{ key, value string }

type affinityState struct {
	// per required affinity term: matching pods per domain, and in total
	affinity      []map[domain]int
	affinityTotal []int
	antiAffinity  []map[domain]int
	// domains where running pods' anti-affinity forbids this pod
	forbidden map[domain]bool
	// preferred terms' weights per domain
	preferred map[domain]int64
}

func matchesTerm(t *corev1.PodAffinityTerm, owner, candidate *corev1.Pod) bool {
	return inNamespaces(candidate, t.GetNamespaces(), owner.GetMetadata().GetNamespace()) &&
		labels.Matches(t.GetLabelSelector(), candidate.GetMetadata().GetLabels())
}

// PreFilter counts the pods each term matches per domain.
func (InterPodAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	aff := pod.GetSpec().GetAffinity()
	req := aff.GetPodAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()
	anti := aff.GetPodAntiAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()
	st := &affinityState{affinity: make([]map[domain]int, len(req)), affinityTotal: make([]int, len(req)),
		antiAffinity: make([]map[domain]int, len(anti)), forbidden: map[domain]bool{}, preferred: map[domain]int64{}}
	for i := range req {
		st.affinity[i] = map[domain]int{}
	}
	for i := range anti {
		st.antiAffinity[i] = map[domain]int{}
	}
	needsPods := len(req) > 0 || len(anti) > 0 ||
		len(aff.GetPodAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution()) > 0 ||
		len(aff.GetPodAntiAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution()) > 0
	for _, n := range state.Nodes {
		labels := n.Node.GetMetadata().GetLabels()
		for _, p := range n.PodsWithRequiredAntiAffinity {
			for _, t := range p.GetSpec().GetAffinity().GetPodAntiAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution() {
				if v, ok := labels[t.GetTopologyKey()]; ok && matchesTerm(t, p, pod) {
					st.forbidden[domain{t.GetTopologyKey(), v}] = true
				}
			}
		}
		if !needsPods {
			continue
		}
		for _, p := range n.Pods {
			for i, t := range req {
				if v, ok := labels[t.GetTopologyKey()]; ok && matchesTerm(t, pod, p) {
					st.affinity[i][domain{t.GetTopologyKey(), v}]++
					st.affinityTotal[i]++
				}
			}
			for i, t := range anti {
				if v, ok := labels[t.GetTopologyKey()]; ok && matchesTerm(t, pod, p) {
					st.antiAffinity[i][domain{t.GetTopologyKey(), v}]++
				}
			}
			for _, w := range aff.GetPodAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution() {
				t := w.GetPodAffinityTerm()
				if v, ok := labels[t.GetTopologyKey()]; ok && matchesTerm(t, pod, p) {
					st.preferred[domain{t.GetTopologyKey(), v}] += int64(w.GetWeight())
				}
			}
			for _, w := range aff.GetPodAntiAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution() {
				t := w.GetPodAffinityTerm()
				if v, ok := labels[t.GetTopologyKey()]; ok && matchesTerm(t, pod, p) {
					st.preferred[domain{t.GetTopologyKey(), v}] -= int64(w.GetWeight())
				}
			}
		}
	}
	state.Write(affinityKey, st)
	return nil
}

func affinityOf(state *framework.CycleState) *affinityState {
	v, _ := state.Read(affinityKey)
	st, _ := v.(*affinityState)
	return st
}

// Filter applies required affinity, anti-affinity, and running pods'
// anti-affinity.
func (InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	st := affinityOf(state)
	if st == nil {
		return nil
	}
	labels := n.Node.GetMetadata().GetLabels()
	for d := range st.forbidden {
		if labels[d.key] == d.value {
			if _, ok := labels[d.key]; ok {
				return framework.NewStatus(framework.Unschedulable, "node(s) didn't satisfy existing pods anti-affinity rules")
			}
		}
	}
	aff := pod.GetSpec().GetAffinity()
	for i, t := range aff.GetPodAntiAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution() {
		if v, ok := labels[t.GetTopologyKey()]; ok && st.antiAffinity[i][domain{t.GetTopologyKey(), v}] > 0 {
			return framework.NewStatus(framework.Unschedulable, "node(s) didn't match pod anti-affinity rules")
		}
	}
	for i, t := range aff.GetPodAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution() {
		v, ok := labels[t.GetTopologyKey()]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match pod affinity rules")
		}
		if st.affinity[i][domain{t.GetTopologyKey(), v}] > 0 {
			continue
		}
		// The first pod of a group that selects itself may go anywhere.
		if st.affinityTotal[i] == 0 && matchesTerm(t, pod, pod) {
			continue
		}
		return framework.NewStatus(framework.Unschedulable, "node(s) didn't match pod affinity rules")
	}
	return nil
}

// Score adds preferred affinity weights and subtracts preferred
// anti-affinity weights of the node's domains.
func (InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	st := affinityOf(state)
	if st == nil {
		return 0, nil
	}
	var sum int64
	for d, w := range st.preferred {
		if v, ok := n.Node.GetMetadata().GetLabels()[d.key]; ok && v == d.value {
			sum += w
		}
	}
	return sum, nil
}

// NormalizeScore maps the lowest sum to 0 and the highest to 100.
func (InterPodAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []int64) *framework.Status {
	first := true
	var lo, hi int64
	for _, s := range scores {
		if first || s < lo {
			lo = s
		}
		if first || s > hi {
			hi = s
		}
		first = false
	}
	for i, s := range scores {
		if hi == lo {
			scores[i] = 0
			continue
		}
		scores[i] = (s - lo) * framework.MaxNodeScore / (hi - lo)
	}
	return nil
}
