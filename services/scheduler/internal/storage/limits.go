package storage

import (
	"context"
	"fmt"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/volumeclass"
	"skiff.dev/services/scheduler/internal/framework"
)

// NodeVolumeLimits keeps a node's CSI volumes within what each driver
// reports it can take there (CSINode drivers[].allocatable.count).
type NodeVolumeLimits struct{ Store *Store }

// NameNodeVolumeLimits and its reason, as Kubernetes words them.
const (
	NameNodeVolumeLimits = "NodeVolumeLimits"
	ReasonMaxVolumeCount = "node(s) exceed max volume count"
	limitsKey            = "NodeVolumeLimits"
)

var (
	_ framework.PreFilterPlugin = (*NodeVolumeLimits)(nil)
	_ framework.FilterPlugin    = (*NodeVolumeLimits)(nil)
)

// Name of the plugin.
func (*NodeVolumeLimits) Name() string { return NameNodeVolumeLimits }

// PreFilter skips pods without claims and rejects pods whose claims do
// not exist.
func (pl *NodeVolumeLimits) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	names := claimNames(pod)
	if len(names) == 0 {
		state.SkipFilter(NameNodeVolumeLimits)
		return nil
	}
	for _, name := range names {
		if _, ok := pl.Store.Claim(pod.GetMetadata().GetNamespace(), name); !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", name))
		}
	}
	state.Write(limitsKey, true)
	return nil
}

// Filter counts, for each driver of the pod's volumes not yet on the
// node, the volumes the node's pods use and the pod's new ones.
func (pl *NodeVolumeLimits) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if _, ok := state.Read(limitsKey); !ok {
		return nil
	}
	csiNode, ok := pl.Store.CSINode(n.Name())
	if !ok {
		return nil
	}
	newVolumes := pl.csiVolumes(pod)
	if len(newVolumes) == 0 {
		return nil
	}
	attached := map[string]string{}
	for _, p := range n.Pods {
		for id, driver := range pl.csiVolumes(p) {
			attached[id] = driver
		}
	}
	// Only the drivers of the pod's new volumes are checked, as in
	// Kubernetes: a node already over another driver's limit still
	// takes a pod that adds nothing to it.
	added := map[string]int{}
	for id, driver := range newVolumes {
		if _, ok := attached[id]; !ok {
			added[driver]++
		}
	}
	counts := map[string]int{}
	for _, driver := range attached {
		counts[driver]++
	}
	for driver, n := range added {
		if limit := csiNode.Drivers[driver].Allocatable; limit != nil && counts[driver]+n > int(*limit) {
			return framework.NewStatus(framework.Unschedulable, ReasonMaxVolumeCount)
		}
	}
	return nil
}

// csiVolumes are a pod's CSI volumes by a unique id, with their driver:
// a bound claim's volume handle, or an unbound claim to be provisioned by
// its class's CSI driver.
func (pl *NodeVolumeLimits) csiVolumes(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	ns := pod.GetMetadata().GetNamespace()
	for _, name := range claimNames(pod) {
		c, ok := pl.Store.Claim(ns, name)
		if !ok {
			continue
		}
		if pvName := c.GetSpec().GetVolumeName(); pvName != "" {
			if v, ok := pl.Store.Volume(pvName); ok && v.Driver != "" {
				out[v.Driver+"/"+v.Handle] = v.Driver
			}
			continue
		}
		if cl, ok := pl.Store.Class(volumeclass.Claim(c)); ok && cl.Provisioner != "" {
			out[cl.Provisioner+"/"+ClaimKey(ns, name)] = cl.Provisioner
		}
	}
	return out
}
