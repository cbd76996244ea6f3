package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/volumeclass"
	"skiff.dev/services/scheduler/internal/framework"
)

// VolumeZone keeps pods on nodes in the zones and regions of their bound
// volumes' topology labels.
type VolumeZone struct{ Store *Store }

// NameVolumeZone and its reason, as Kubernetes words them.
const (
	NameVolumeZone     = "VolumeZone"
	ReasonZoneConflict = "node(s) had no available volume zone"
)

var (
	_ framework.PreFilterPlugin = (*VolumeZone)(nil)
	_ framework.FilterPlugin    = (*VolumeZone)(nil)
)

// zoneLabels are the volume labels that pin a volume's topology, beta
// names first; the node may carry a beta label's GA name instead.
var zoneLabels = []string{
	"failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
	"topology.kubernetes.io/zone", "topology.kubernetes.io/region",
}

// Name of the plugin.
func (*VolumeZone) Name() string { return NameVolumeZone }

const zoneKey = "VolumeZone"

// volumeTopology is one label of a volume: a key and its allowed values
// (a multi-zone value is split on "__").
type volumeTopology struct {
	key    string
	values []string
}

// PreFilter collects the bound volumes' topology labels; the plugin is
// skipped when there are none.
func (pl *VolumeZone) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	var topo []volumeTopology
	for _, name := range claimNames(pod) {
		t, st := pl.claimTopology(pod.GetMetadata().GetNamespace(), name)
		if st != nil {
			return st
		}
		topo = append(topo, t...)
	}
	if len(topo) == 0 {
		state.SkipFilter(NameVolumeZone)
		return nil
	}
	state.Write(zoneKey, topo)
	return nil
}

func (pl *VolumeZone) claimTopology(ns, name string) ([]volumeTopology, *framework.Status) {
	unresolvable := func(format string, a ...any) *framework.Status {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf(format, a...))
	}
	c, ok := pl.Store.Claim(ns, name)
	if !ok {
		return nil, unresolvable("persistentvolumeclaim %q not found", name)
	}
	pvName := c.GetSpec().GetVolumeName()
	if pvName == "" {
		class := volumeclass.Claim(c)
		if class == "" {
			return nil, unresolvable("PersistentVolumeClaim had no pv name and storageClass name")
		}
		cl, ok := pl.Store.Class(class)
		if !ok {
			return nil, unresolvable("storageclass.storage.k8s.io %q not found", class)
		}
		if cl.BindingMode == ModeWaitForConsumer {
			return nil, nil
		}
		return nil, unresolvable("PersistentVolume had no name")
	}
	v, ok := pl.Store.Volume(pvName)
	if !ok {
		return nil, unresolvable("persistentvolume %q not found", pvName)
	}
	var out []volumeTopology
	for _, key := range zoneLabels {
		if value, ok := v.Labels[key]; ok {
			out = append(out, volumeTopology{key: key, values: strings.Split(value, "__")})
		}
	}
	return out, nil
}

// Filter checks the node's zone and region labels; a node with none of
// them (a single-zone cluster) fits.
func (pl *VolumeZone) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	v, _ := state.Read(zoneKey)
	topo, _ := v.([]volumeTopology)
	nodeLabels := n.Node.GetMetadata().GetLabels()
	if !slices.ContainsFunc(zoneLabels, func(k string) bool { _, ok := nodeLabels[k]; return ok }) {
		return nil
	}
	for _, t := range topo {
		value, ok := nodeLabels[t.key]
		if !ok {
			value, ok = nodeLabels[strings.Replace(t.key, "failure-domain.beta.kubernetes.io/", "topology.kubernetes.io/", 1)]
		}
		if !ok || !slices.Contains(t.values, value) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonZoneConflict)
		}
	}
	return nil
}
