package app

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
)

func TestStorageObjectsAsTheSchedulerSeesThem(t *testing.T) {
	pv := volumeOf(&corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: "pv-1"}, Spec: &corev1.PersistentVolumeSpec{
		Capacity: map[string]*metav1.Quantity{"storage": {String_: "2Gi"}}, StorageClassName: "standard",
		ClaimRef:               &corev1.ObjectReference{Namespace: "ns", Name: "data", Uid: "u1"},
		PersistentVolumeSource: &corev1.PersistentVolumeSource{Csi: &corev1.CSIPersistentVolumeSource{Driver: "d", VolumeHandle: "h"}}},
		Status: &corev1.PersistentVolumeStatus{Phase: "Bound"}})
	if pv.Capacity != 2<<30 || pv.ClassName != "standard" || pv.ClaimRef.Name != "data" || pv.Driver != "d" || pv.Handle != "h" || pv.Phase != "Bound" {
		t.Errorf("volume %+v", pv)
	}
	beta := volumeOf(&corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: "pv-2",
		Annotations: map[string]string{"volume.beta.kubernetes.io/storage-class": "old"}},
		Spec: &corev1.PersistentVolumeSpec{StorageClassName: "standard", VolumeAttributesClassName: proto.String("gold")}})
	if beta.ClassName != "old" || beta.VAC != "gold" {
		t.Errorf("volume with the beta class annotation %+v, want class old, VAC gold", beta)
	}
	class := classOf(&storagev1.StorageClass{Metadata: &metav1.ObjectMeta{Name: "fast"}, Provisioner: "d",
		AllowedTopologies: []*corev1.TopologySelectorTerm{{MatchLabelExpressions: []*corev1.TopologySelectorLabelRequirement{{Key: "zone", Values: []string{"a"}}}}}})
	if class.BindingMode != "Immediate" || len(class.AllowedTopologies) != 1 || class.AllowedTopologies[0]["zone"][0] != "a" {
		t.Errorf("class %+v", class)
	}
	capacity := capacityOf(&storagev1.CSIStorageCapacity{Metadata: &metav1.ObjectMeta{Name: "c", Namespace: "ns"},
		StorageClassName: "standard", Capacity: &metav1.Quantity{String_: "1Gi"}})
	if capacity.Capacity == nil || *capacity.Capacity != 1<<30 || capacity.MaximumVolumeSize != nil || capacity.NodeTopology != nil {
		t.Errorf("capacity %+v", capacity)
	}
	node := csiNodeOf(&storagev1.CSINode{Metadata: &metav1.ObjectMeta{Name: "n1"}, Spec: &storagev1.CSINodeSpec{
		Drivers: []*storagev1.CSINodeDriver{{Name: "d", NodeId: "n1", TopologyKeys: []string{"k"},
			Allocatable: &storagev1.VolumeNodeResources{Count: proto.Int32(3)}}}}})
	if d := node.Drivers["d"]; d.NodeID != "n1" || *d.Allocatable != 3 || d.TopologyKeys[0] != "k" {
		t.Errorf("csinode %+v", node)
	}
}
