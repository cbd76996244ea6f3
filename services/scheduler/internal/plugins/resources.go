package plugins

import (
	"context"
	"math"
	"sort"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

const (
	requestsKey = "NodeResourcesFit/requests"
	nonZeroKey  = "NodeResourcesFit/nonZero"
)

// nonZeroOf is the pod's cpu and memory requests for scoring.
func nonZeroOf(state *framework.CycleState, pod *corev1.Pod) [2]int64 {
	if v, ok := state.Read(nonZeroKey); ok {
		return v.([2]int64)
	}
	cpu, mem := framework.NonZeroRequests(pod)
	return [2]int64{cpu, mem}
}

func requestsOf(state *framework.CycleState, pod *corev1.Pod) framework.Resource {
	if v, ok := state.Read(requestsKey); ok {
		return v.(framework.Resource)
	}
	return framework.PodRequests(pod)
}

// NodeResourcesFit keeps pods on nodes with room for their requests and
// prefers the least allocated nodes.
type NodeResourcesFit struct{}

var (
	_ framework.PreFilterPlugin = NodeResourcesFit{}
	_ framework.FilterPlugin    = NodeResourcesFit{}
	_ framework.ScorePlugin     = NodeResourcesFit{}
)

// Name of the plugin.
func (NodeResourcesFit) Name() string { return NameNodeResourcesFit }

// PreFilter computes the pod's requests once.
func (NodeResourcesFit) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	state.Write(requestsKey, framework.PodRequests(pod))
	cpu, mem := framework.NonZeroRequests(pod)
	state.Write(nonZeroKey, [2]int64{cpu, mem})
	return nil
}

// Filter refuses nodes without room, naming each resource that is short.
func (NodeResourcesFit) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	req := requestsOf(state, pod)
	var reasons []string
	if n.Allocatable.Pods > 0 && n.Requested.Pods+1 > n.Allocatable.Pods {
		reasons = append(reasons, "Too many pods")
	}
	if req.MilliCPU > 0 && n.Requested.MilliCPU+req.MilliCPU > n.Allocatable.MilliCPU {
		reasons = append(reasons, "Insufficient cpu")
	}
	if req.Memory > 0 && n.Requested.Memory+req.Memory > n.Allocatable.Memory {
		reasons = append(reasons, "Insufficient memory")
	}
	names := make([]string, 0, len(req.Scalar))
	for name := range req.Scalar {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if v := req.Scalar[name]; v > 0 && n.Requested.Scalar[name]+v > n.Allocatable.Scalar[name] {
			reasons = append(reasons, "Insufficient "+name)
		}
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.Unschedulable, reasons...)
	}
	return nil
}

// Score prefers the node with the most free cpu and memory after placing
// the pod (LeastAllocated), counting containers without requests at the
// defaults as Kubernetes does.
func (NodeResourcesFit) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	req := nonZeroOf(state, pod)
	free := func(requested, allocatable int64) int64 {
		if allocatable == 0 || requested > allocatable {
			return 0
		}
		return (allocatable - requested) * framework.MaxNodeScore / allocatable
	}
	cpu := free(n.NonZeroCPU+req[0], n.Allocatable.MilliCPU)
	mem := free(n.NonZeroMemory+req[1], n.Allocatable.Memory)
	return (cpu + mem) / 2, nil
}

// BalancedAllocation prefers nodes whose cpu and memory would be used in
// equal proportion.
type BalancedAllocation struct{}

var _ framework.ScorePlugin = BalancedAllocation{}

// Name of the plugin.
func (BalancedAllocation) Name() string { return NameBalanced }

// Score is 100 when cpu and memory fractions are equal, less as they part.
func (BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	req := requestsOf(state, pod)
	fraction := func(requested, allocatable int64) float64 {
		if allocatable == 0 {
			return 0
		}
		return min(1, float64(requested)/float64(allocatable))
	}
	cpu := fraction(n.Requested.MilliCPU+req.MilliCPU, n.Allocatable.MilliCPU)
	mem := fraction(n.Requested.Memory+req.Memory, n.Allocatable.Memory)
	std := math.Abs(cpu-mem) / 2
	return int64((1 - std) * float64(framework.MaxNodeScore)), nil
}
