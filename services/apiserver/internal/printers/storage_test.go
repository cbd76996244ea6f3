package printers

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
)

func TestStorageCells(t *testing.T) {
	now := time.Now()
	meta := func(name string, annotations map[string]string) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{Name: name, Annotations: annotations, CreationTimestamp: timestamppb.New(now.Add(-time.Minute))}
	}
	bound := &corev1.PersistentVolume{Metadata: meta("pv-1", nil),
		Spec: &corev1.PersistentVolumeSpec{Capacity: map[string]*metav1.Quantity{"storage": {String_: "1024Mi"}},
			AccessModes: []string{"ReadWriteOnce", "ReadOnlyMany"}, PersistentVolumeReclaimPolicy: "Delete", StorageClassName: "standard",
			VolumeMode: proto.String("Filesystem"), ClaimRef: &corev1.ObjectReference{Namespace: "default", Name: "data"}},
		Status: &corev1.PersistentVolumeStatus{Phase: "Bound"}}
	failed := &corev1.PersistentVolume{Metadata: meta("pv-2", map[string]string{"volume.beta.kubernetes.io/storage-class": "old"}),
		Spec:   &corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: "Recycle", VolumeAttributesClassName: proto.String("gold")},
		Status: &corev1.PersistentVolumeStatus{Phase: "Failed", Reason: "RecyclerFailed"}}
	def := &storagev1.StorageClass{Metadata: meta("standard", map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}),
		Provisioner: "local.csi.skiff.dev", ReclaimPolicy: proto.String("Delete"), VolumeBindingMode: proto.String("WaitForFirstConsumer"),
		AllowVolumeExpansion: proto.Bool(true)}
	tests := []struct {
		name string
		got  []any
		want string
	}{
		{"bound pv", volumeCells(bound, now), "[pv-1 1Gi RWO,ROX Delete Bound default/data standard <unset>  60s Filesystem]"},
		{"failed pv", volumeCells(failed, now), "[pv-2 0  Recycle Failed  old gold RecyclerFailed 60s <unset>]"},
		{"default class", classCells(def, now), "[standard (default) local.csi.skiff.dev Delete WaitForFirstConsumer true 60s]"},
		{"bare class", classCells(&storagev1.StorageClass{Metadata: meta("slow", nil), Provisioner: "x.dev/p"}, now),
			"[slow x.dev/p Delete Immediate false 60s]"},
		{"driver", driverCells(&storagev1.CSIDriver{Metadata: meta("local.csi.skiff.dev", nil), Spec: &storagev1.CSIDriverSpec{
			AttachRequired: proto.Bool(false), PodInfoOnMount: proto.Bool(true), StorageCapacity: proto.Bool(true),
			VolumeLifecycleModes: []string{"Persistent"}}}, now),
			"[local.csi.skiff.dev false true true <unset> false Persistent 60s]"},
		{"driver with tokens", driverCells(&storagev1.CSIDriver{Metadata: meta("d", nil), Spec: &storagev1.CSIDriverSpec{
			TokenRequests: []*storagev1.TokenRequest{{Audience: "a"}, {Audience: "b"}}}}, now),
			"[d true false false a,b false <none> 60s]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(tt.got); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	for kind, obj := range map[string]proto.Message{
		"CSINode": &storagev1.CSINode{Metadata: meta("n1", nil), Spec: &storagev1.CSINodeSpec{Drivers: []*storagev1.CSINodeDriver{{Name: "a"}}}},
		"VolumeAttachment": &storagev1.VolumeAttachment{Metadata: meta("csi-1", nil), Spec: &storagev1.VolumeAttachmentSpec{Attacher: "a",
			NodeName: "n1", Source: &storagev1.VolumeAttachmentSource{PersistentVolumeName: proto.String("pv-1")}}},
		"CSIStorageCapacity": &storagev1.CSIStorageCapacity{Metadata: meta("cap", nil), StorageClassName: "standard"},
	} {
		want := map[string]string{"CSINode": "[n1 1 60s]", "VolumeAttachment": "[csi-1 a pv-1 n1 false 60s]",
			"CSIStorageCapacity": "[cap standard <unset>]"}[kind]
		if got := fmt.Sprint(For("storage.k8s.io", kind).Cells(obj, now)); got != want {
			t.Errorf("%s: got %s, want %s", kind, got, want)
		}
	}
}
