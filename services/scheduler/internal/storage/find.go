package storage

import (
	"fmt"
	"slices"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/labels"
	"skiff.dev/pkg/nodematch"
	"skiff.dev/pkg/volumeclass"
)

// findVolumes is Kubernetes' FindPodVolumes for one node: the reasons the
// node fails, or the volumes to bind and claims to provision there.
func (pl *VolumeBinding) findVolumes(claims *podClaims, node *corev1.Node) (*podVolumes, []string, error) {
	var reasons []string
	for _, c := range claims.bound {
		v, ok := pl.Store.Volume(c.GetSpec().GetVolumeName())
		if !ok {
			reasons = append(reasons, ReasonPVNotExist)
			break
		}
		if v.NodeAffinity != nil && !nodematch.Selector(v.NodeAffinity, node) {
			reasons = append(reasons, ReasonNodeConflict)
			break
		}
	}
	out := &podVolumes{static: map[string]*corev1.PersistentVolumeClaim{}, volumes: map[string]*Volume{}}
	taken := map[string]bool{}
	unboundOK := true
	for _, c := range claims.delayed {
		if sel, ok := c.GetMetadata().GetAnnotations()[AnnSelectedNode]; ok {
			if sel != node.GetMetadata().GetName() {
				unboundOK = false
				break
			}
			out.provision = append(out.provision, c)
			continue
		}
		if v := pl.Store.matchVolume(c, node, taken); v != nil {
			taken[v.Name] = true
			out.static[v.Name], out.volumes[v.Name] = c, v
			continue
		}
		out.provision = append(out.provision, c)
	}
	if unboundOK && len(out.provision) > 0 {
		ok, enough, err := pl.canProvision(out.provision, node)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			unboundOK = false
		} else if !enough {
			reasons = append(reasons, ReasonNotEnoughSpace)
		}
	}
	if !unboundOK {
		reasons = append(reasons, ReasonBindConflict)
	}
	return out, reasons, nil
}

// canProvision reports whether every claim could be provisioned on node:
// its class has a provisioner whose topology fits the node (the class's
// allowedTopologies; the driver installed on the node's CSINode with the
// node labelled for each of its topology keys), and enough is whether
// the driver's published capacity for the class reachable from the node
// holds each claim.
func (pl *VolumeBinding) canProvision(claims []*corev1.PersistentVolumeClaim, node *corev1.Node) (ok, enough bool, err error) {
	nodeLabels := node.GetMetadata().GetLabels()
	for _, c := range claims {
		name := volumeclass.Claim(c)
		class, found := pl.Store.Class(name)
		if !found {
			return false, false, fmt.Errorf("failed to find storage class %q", name)
		}
		if class.Provisioner == "" || class.Provisioner == noProvisioner ||
			!topologyFits(class.AllowedTopologies, nodeLabels) || !pl.driverOnNode(class.Provisioner, node) {
			return false, true, nil
		}
		if !pl.hasCapacity(class, c, nodeLabels) {
			return true, false, nil
		}
	}
	return true, true, nil
}

func topologyFits(terms []TopologyTerm, nodeLabels map[string]string) bool {
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		fits := true
		for key, values := range t {
			v, ok := nodeLabels[key]
			if !ok || !slices.Contains(values, v) {
				fits = false
				break
			}
		}
		if fits {
			return true
		}
	}
	return false
}

// driverOnNode checks a CSI driver's topology: when the driver has a
// CSIDriver object and the node a CSINode, the driver must be installed
// there and the node carry a label for each of its topology keys.
// Provisioners that are not CSI drivers the scheduler knows pass.
func (pl *VolumeBinding) driverOnNode(driver string, node *corev1.Node) bool {
	if _, ok := pl.Store.Driver(driver); !ok {
		return true
	}
	csiNode, ok := pl.Store.CSINode(node.GetMetadata().GetName())
	if !ok {
		return true
	}
	d, ok := csiNode.Drivers[driver]
	if !ok {
		return false
	}
	for _, key := range d.TopologyKeys {
		if _, ok := node.GetMetadata().GetLabels()[key]; !ok {
			return false
		}
	}
	return true
}

// hasCapacity checks storage capacity for drivers that publish it
// (CSIDriver storageCapacity: true): some CSIStorageCapacity of the class
// whose nodeTopology matches the node must hold the claim.
func (pl *VolumeBinding) hasCapacity(class *Class, c *corev1.PersistentVolumeClaim, nodeLabels map[string]string) bool {
	want, ok := requestBytes(c)
	if !ok {
		return true
	}
	d, ok := pl.Store.Driver(class.Provisioner)
	if !ok || !d.StorageCapacity {
		return true
	}
	for _, cap := range pl.Store.capacitiesOf(class.Name) {
		if cap.NodeTopology == nil || !labels.Matches(cap.NodeTopology, nodeLabels) {
			continue
		}
		limit := cap.MaximumVolumeSize
		if limit == nil {
			limit = cap.Capacity
		}
		if limit != nil && *limit >= want {
			return true
		}
	}
	return false
}
