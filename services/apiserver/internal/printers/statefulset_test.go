package printers

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestClaimCells(t *testing.T) {
	now := time.Now()
	c := &corev1.PersistentVolumeClaim{
		Metadata: &metav1.ObjectMeta{Name: "data-web-0", CreationTimestamp: timestamppb.New(now.Add(-time.Minute))},
		Spec: &corev1.PersistentVolumeClaimSpec{AccessModes: []string{"ReadWriteOnce"}, StorageClassName: proto.String("fast"),
			VolumeMode: proto.String("Filesystem")},
		Status: &corev1.PersistentVolumeClaimStatus{Phase: "Pending"},
	}
	if got, want := fmt.Sprint(claimCells(c, now)), "[data-web-0 Pending    fast <unset> 60s Filesystem]"; got != want {
		t.Errorf("pending claim: got %s, want %s", got, want)
	}
	c.Spec.VolumeName = "pv-1"
	c.Status = &corev1.PersistentVolumeClaimStatus{Phase: "Bound", AccessModes: []string{"ReadWriteMany", "ReadWriteOnce"},
		Capacity: map[string]*metav1.Quantity{"storage": {String_: "1Gi"}}}
	c.Metadata.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-class": "old"}
	c.Metadata.DeletionTimestamp = timestamppb.New(now)
	if got, want := fmt.Sprint(claimCells(c, now)), "[data-web-0 Terminating pv-1 1Gi RWO,RWX old <unset> 60s Filesystem]"; got != want {
		t.Errorf("bound claim being deleted: got %s, want %s", got, want)
	}
}
