// Package plugins holds the scheduler's built-in plugins, each the
// Kubernetes plugin of the same name: NodeName, NodeUnschedulable,
// NodeResourcesFit, NodeAffinity, TaintToleration and NodePorts.
package plugins

import (
	"context"
	"fmt"
	"slices"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/nodematch"
	"skiff.dev/services/scheduler/internal/framework"
)

// Plugin names, as the scheduler configuration spells them.
const (
	NameNodeName          = "NodeName"
	NameNodeUnschedulable = "NodeUnschedulable"
	NameNodeResourcesFit  = "NodeResourcesFit"
	NameBalanced          = "NodeResourcesBalancedAllocation"
	NameNodeAffinity      = "NodeAffinity"
	NameTaintToleration   = "TaintToleration"
	NameNodePorts         = "NodePorts"
)

// NodeName keeps a pod that names its node on that node.
type NodeName struct{}

var _ framework.FilterPlugin = NodeName{}

// Name of the plugin.
func (NodeName) Name() string { return NameNodeName }

// Filter passes only the named node.
func (NodeName) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if want := pod.GetSpec().GetNodeName(); want != "" && want != n.Name() {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match the requested node name")
	}
	return nil
}

// NodeUnschedulable keeps pods off cordoned nodes unless they tolerate it.
type NodeUnschedulable struct{}

var _ framework.FilterPlugin = NodeUnschedulable{}

// Name of the plugin.
func (NodeUnschedulable) Name() string { return NameNodeUnschedulable }

// Filter refuses cordoned nodes.
func (NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if !n.Node.GetSpec().GetUnschedulable() {
		return nil
	}
	taint := &corev1.Taint{Key: "node.kubernetes.io/unschedulable", Effect: "NoSchedule"}
	if nodematch.Tolerated(pod.GetSpec().GetTolerations(), taint) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) were unschedulable")
}

// NodePorts keeps pods that need the same host port apart.
type NodePorts struct{}

var _ framework.FilterPlugin = NodePorts{}

// Name of the plugin.
func (NodePorts) Name() string { return NameNodePorts }

// Filter refuses nodes where a wanted host port is taken.
func (NodePorts) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	for _, want := range framework.HostPorts(pod) {
		if slices.ContainsFunc(n.UsedPorts, func(used framework.HostPort) bool { return portsConflict(want, used) }) {
			return framework.NewStatus(framework.Unschedulable, "node(s) didn't have free ports for the requested pod ports")
		}
	}
	return nil
}

func portsConflict(a, b framework.HostPort) bool {
	if a.Port != b.Port || a.Protocol != b.Protocol {
		return false
	}
	return a.IP == b.IP || a.IP == "0.0.0.0" || b.IP == "0.0.0.0"
}

// TaintToleration keeps pods off nodes with taints they do not tolerate
// and prefers nodes with fewer PreferNoSchedule taints they do not
// tolerate.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin         = TaintToleration{}
	_ framework.NormalizeScorePlugin = TaintToleration{}
)

// Name of the plugin.
func (TaintToleration) Name() string { return NameTaintToleration }

// Filter refuses a node with an untolerated NoSchedule or NoExecute taint.
func (TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	for _, taint := range n.Node.GetSpec().GetTaints() {
		if taint.GetEffect() == "PreferNoSchedule" || nodematch.Tolerated(pod.GetSpec().GetTolerations(), taint) {
			continue
		}
		desc := taint.GetKey()
		if taint.GetValue() != "" {
			desc += ": " + taint.GetValue()
		}
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("node(s) had untolerated taint {%s}", desc))
	}
	return nil
}

// Score counts the untolerated PreferNoSchedule taints (fewer is better;
// NormalizeScore turns the count around).
func (TaintToleration) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var count int64
	for _, taint := range n.Node.GetSpec().GetTaints() {
		if taint.GetEffect() == "PreferNoSchedule" && !nodematch.Tolerated(pod.GetSpec().GetTolerations(), taint) {
			count++
		}
	}
	return count, nil
}

// NormalizeScore maps the most tainted node to 0 and untainted ones to 100.
func (TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []int64) *framework.Status {
	normalize(scores, true)
	return nil
}

// normalize rescales scores to 0..MaxNodeScore; reverse makes the lowest
// raw score the best.
func normalize(scores []int64, reverse bool) {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s)
	}
	for i, s := range scores {
		switch {
		case highest == 0 && reverse:
			scores[i] = framework.MaxNodeScore
		case highest == 0:
			scores[i] = 0
		case reverse:
			scores[i] = framework.MaxNodeScore - s*framework.MaxNodeScore/highest
		default:
			scores[i] = s * framework.MaxNodeScore / highest
		}
	}
}
