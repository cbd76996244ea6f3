package plugins

import (
	"context"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/nodematch"
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
	if !nodematch.Required(pod.GetSpec(), n.Node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector")
	}
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (NodeAffinity) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var sum int64
	for _, p := range pod.GetSpec().GetAffinity().GetNodeAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution() {
		if nodematch.Term(p.GetPreference(), n.Node) {
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
