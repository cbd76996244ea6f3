package plugins

import (
	"context"
	"slices"
	"strconv"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// NodeAffinity keeps pods on nodes that match their nodeSelector and
// required node affinity, and prefers nodes matching preferred terms.
type NodeAffinity struct{}

var (
	_ framework.FilterPlugin         = NodeAffinity{}
	_ framework.NormalizeScorePlugin = NodeAffinity{}
)

// Name of the plugin.
func (NodeAffinity) Name() string { return NameNodeAffinity }

// Filter refuses nodes the pod does not select.
func (NodeAffinity) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	labels := n.Node.GetMetadata().GetLabels()
	for k, v := range pod.GetSpec().GetNodeSelector() {
		if got, ok := labels[k]; !ok || got != v {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector")
		}
	}
	required := pod.GetSpec().GetAffinity().GetNodeAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()
	if required != nil && !slices.ContainsFunc(required.GetNodeSelectorTerms(), func(t *corev1.NodeSelectorTerm) bool { return termMatches(t, n.Node) }) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector")
	}
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (NodeAffinity) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var sum int64
	for _, p := range pod.GetSpec().GetAffinity().GetNodeAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution() {
		if termMatches(p.GetPreference(), n.Node) {
			sum += int64(p.GetWeight())
		}
	}
	return sum, nil
}

// NormalizeScore scales the sums to 0..100.
func (NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []int64) *framework.Status {
	normalize(scores, false)
	return nil
}

// termMatches ANDs a term's requirements; an empty term matches nothing.
func termMatches(t *corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(t.GetMatchExpressions()) == 0 && len(t.GetMatchFields()) == 0 {
		return false
	}
	labels := node.GetMetadata().GetLabels()
	for _, r := range t.GetMatchExpressions() {
		v, ok := labels[r.GetKey()]
		if !requirementMatches(r, v, ok) {
			return false
		}
	}
	for _, r := range t.GetMatchFields() {
		if r.GetKey() != "metadata.name" || !requirementMatches(r, node.GetMetadata().GetName(), true) {
			return false
		}
	}
	return true
}

func requirementMatches(r *corev1.NodeSelectorRequirement, v string, present bool) bool {
	switch r.GetOperator() {
	case "In":
		return present && slices.Contains(r.GetValues(), v)
	case "NotIn":
		return !present || !slices.Contains(r.GetValues(), v)
	case "Exists":
		return present
	case "DoesNotExist":
		return !present
	case "Gt", "Lt":
		if !present || len(r.GetValues()) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(r.GetValues()[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.GetOperator() == "Gt" {
			return have > want
		}
		return have < want
	}
	return false
}
