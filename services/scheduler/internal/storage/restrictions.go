package storage

import (
	"context"
	"fmt"
	"slices"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// VolumeRestrictions keeps a ReadWriteOncePod claim to one pod.
type VolumeRestrictions struct{ Store *Store }

// NameVolumeRestrictions and its reason, as Kubernetes words them.
const (
	NameVolumeRestrictions = "VolumeRestrictions"
	ReasonRWOPConflict     = "node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use by another pod"
)

var (
	_ framework.PreFilterPlugin = (*VolumeRestrictions)(nil)
	_ framework.FilterPlugin    = (*VolumeRestrictions)(nil)
)

// Name of the plugin.
func (*VolumeRestrictions) Name() string { return NameVolumeRestrictions }

const restrictionsKey = "VolumeRestrictions"

// PreFilter counts the pod's ReadWriteOncePod claims that another pod
// already uses; the plugin is skipped when there are none.
func (pl *VolumeRestrictions) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	ns := pod.GetMetadata().GetNamespace()
	rwop := map[string]bool{}
	for _, name := range claimNames(pod) {
		c, ok := pl.Store.Claim(ns, name)
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", name))
		}
		if slices.Contains(c.GetSpec().GetAccessModes(), readWriteOncePod) {
			rwop[name] = true
		}
	}
	if len(rwop) == 0 || !claimInUse(state.Nodes, pod, rwop) {
		state.SkipFilter(NameVolumeRestrictions)
		return nil
	}
	state.Write(restrictionsKey, true)
	return nil
}

// claimInUse reports whether another pod in the snapshot uses one of the
// named claims of the pod's namespace.
func claimInUse(nodes []*framework.NodeInfo, pod *corev1.Pod, names map[string]bool) bool {
	ns, uid := pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetUid()
	for _, n := range nodes {
		for _, p := range n.Pods {
			if p.GetMetadata().GetNamespace() != ns || p.GetMetadata().GetUid() == uid {
				continue
			}
			for _, name := range claimNames(p) {
				if names[name] {
					return true
				}
			}
		}
	}
	return false
}

// Filter refuses every node while the claim is in use elsewhere (the
// user of the claim may be preempted).
func (pl *VolumeRestrictions) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, _ *framework.NodeInfo) *framework.Status {
	if _, conflict := state.Read(restrictionsKey); conflict {
		return framework.NewStatus(framework.Unschedulable, ReasonRWOPConflict)
	}
	return nil
}
