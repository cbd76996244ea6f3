package provisioner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

const (
	// prefixed class parameters are for the provisioner, not the driver.
	paramPrefix = "csi.storage.k8s.io/"
	// Claim metadata handed to the driver, as external-provisioner's
	// --extra-create-metadata does.
	paramPVCName      = "csi.storage.k8s.io/pvc/name"
	paramPVCNamespace = "csi.storage.k8s.io/pvc/namespace"
	paramPVName       = "csi.storage.k8s.io/pv/name"
	// attrIdentity names the provisioner that made a volume.
	attrIdentity = "storage.kubernetes.io/csiProvisionerIdentity"
)

// accessModes maps a claim's access modes to CSI's, as Kubernetes does
// for a driver without the single-node multi-writer capability.
var accessModes = map[v1.PersistentVolumeAccessMode]csi.VolumeCapability_AccessMode_Mode{
	v1.ReadWriteOnce:    csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
	v1.ReadOnlyMany:     csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY,
	v1.ReadWriteMany:    csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER,
	v1.ReadWriteOncePod: csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER,
}

// createRequest is the CreateVolume call for the claim on this node.
func (p *Provisioner) createRequest(opts controller.ProvisionOptions) (*csi.CreateVolumeRequest, error) {
	claim, class := opts.PVC, opts.StorageClass
	if claim.Spec.VolumeMode != nil && *claim.Spec.VolumeMode == v1.PersistentVolumeBlock {
		return nil, errors.New("volumeMode Block: the driver provides filesystem volumes only")
	}
	if claim.Spec.Selector != nil {
		return nil, errors.New("claim Selector is not supported")
	}
	if len(claim.Spec.AccessModes) == 0 {
		return nil, errors.New("the claim has no access modes")
	}
	var caps []*csi.VolumeCapability
	for _, m := range claim.Spec.AccessModes {
		mode, ok := accessModes[m]
		if !ok {
			return nil, fmt.Errorf("unknown access mode %q", m)
		}
		caps = append(caps, &csi.VolumeCapability{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{MountFlags: class.MountOptions}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
		})
	}
	params := map[string]string{}
	for k, v := range class.Parameters {
		if !strings.HasPrefix(k, paramPrefix) {
			params[k] = v
		}
	}
	params[paramPVCName], params[paramPVCNamespace], params[paramPVName] = claim.Name, claim.Namespace, opts.PVName
	here := &csi.Topology{Segments: map[string]string{p.cfg.TopologyKey: p.cfg.Node}}
	return &csi.CreateVolumeRequest{
		Name:                      opts.PVName,
		CapacityRange:             capacityRange(claim),
		VolumeCapabilities:        caps,
		Parameters:                params,
		AccessibilityRequirements: &csi.TopologyRequirement{Requisite: []*csi.Topology{here}, Preferred: []*csi.Topology{here}},
	}, nil
}

// capacityRange is the claim's storage request and limit.
func capacityRange(claim *v1.PersistentVolumeClaim) *csi.CapacityRange {
	r := &csi.CapacityRange{}
	if q, ok := claim.Spec.Resources.Requests[v1.ResourceStorage]; ok {
		r.RequiredBytes = q.Value()
	}
	if q, ok := claim.Spec.Resources.Limits[v1.ResourceStorage]; ok {
		r.LimitBytes = q.Value()
	}
	return r
}

// volume is the PersistentVolume of a created volume: the CSI source, the
// node affinity of its topology, the class's reclaim policy and mount
// options. The library adds the claimRef, the provisioned-by annotation,
// the class name and the finalizer.
func (p *Provisioner) volume(opts controller.ProvisionOptions, v *csi.Volume) (*v1.PersistentVolume, error) {
	claim, class := opts.PVC, opts.StorageClass
	reclaim := v1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	mode := v1.PersistentVolumeFilesystem
	attrs := map[string]string{attrIdentity: p.cfg.Identity}
	for k, val := range v.GetVolumeContext() {
		attrs[k] = val
	}
	affinity, err := nodeAffinity(v.GetAccessibleTopology())
	if err != nil {
		return nil, err
	}
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: opts.PVName},
		Spec: v1.PersistentVolumeSpec{
			AccessModes:                   claim.Spec.AccessModes,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: *resource.NewQuantity(v.GetCapacityBytes(), resource.BinarySI)},
			PersistentVolumeReclaimPolicy: reclaim,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    &mode,
			NodeAffinity:                  affinity,
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver:           p.cfg.Driver,
				VolumeHandle:     v.GetVolumeId(),
				VolumeAttributes: attrs,
			}},
		},
	}, nil
}

// nodeAffinity requires one of the volume's topologies: each a term
// matching all of its segments.
func nodeAffinity(topologies []*csi.Topology) (*v1.VolumeNodeAffinity, error) {
	if len(topologies) == 0 {
		return nil, errors.New("the driver returned no accessible topology for a volume on one node")
	}
	var terms []v1.NodeSelectorTerm
	for _, t := range topologies {
		var term v1.NodeSelectorTerm
		for k, v := range t.GetSegments() {
			term.MatchExpressions = append(term.MatchExpressions, v1.NodeSelectorRequirement{Key: k, Operator: v1.NodeSelectorOpIn, Values: []string{v}})
		}
		sortRequirements(term.MatchExpressions)
		terms = append(terms, term)
	}
	return &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: terms}}, nil
}

// nodeOf is the node a PV's node affinity names under key.
func nodeOf(pv *v1.PersistentVolume, key string) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, r := range term.MatchExpressions {
			if r.Key == key && r.Operator == v1.NodeSelectorOpIn && len(r.Values) == 1 {
				return r.Values[0]
			}
		}
	}
	return ""
}
