package attachdetach

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
)

// The node's volumesAttached are its VolumeAttachments reported
// attached, by unique volume name, sorted.
func TestAttachedVolumes(t *testing.T) {
	va := func(pv, node string, attached bool) *storagev1.VolumeAttachment {
		return &storagev1.VolumeAttachment{Metadata: &metav1.ObjectMeta{Name: pv + "-" + node},
			Spec: &storagev1.VolumeAttachmentSpec{Attacher: "d", NodeName: node,
				Source: &storagev1.VolumeAttachmentSource{PersistentVolumeName: proto.String(pv)}},
			Status: &storagev1.VolumeAttachmentStatus{Attached: attached}}
	}
	pvs := map[string]*corev1.PersistentVolume{}
	for _, name := range []string{"pv-b", "pv-a", "pv-c"} {
		pvs[name] = &corev1.PersistentVolume{Spec: &corev1.PersistentVolumeSpec{PersistentVolumeSource: &corev1.PersistentVolumeSource{
			Csi: &corev1.CSIPersistentVolumeSource{Driver: "d", VolumeHandle: "h-" + name}}}}
	}
	get := func(name string) (*corev1.PersistentVolume, bool) { v, ok := pvs[name]; return v, ok }
	vas := []*storagev1.VolumeAttachment{
		va("pv-b", "node-1", true), va("pv-a", "node-1", true),
		va("pv-c", "node-1", false),   // not attached yet
		va("pv-a", "node-2", true),    // another node
		va("pv-gone", "node-1", true), // its PV is gone: no name
	}
	got := attachedVolumes(vas, get, "node-1")
	want := []*corev1.AttachedVolume{{Name: "kubernetes.io/csi/d^h-pv-a"}, {Name: "kubernetes.io/csi/d^h-pv-b"}}
	if !sameAttached(got, want) {
		t.Errorf("attachedVolumes = %v, want %v", got, want)
	}
	if sameAttached(got, nil) || !sameAttached(nil, []*corev1.AttachedVolume{}) {
		t.Error("sameAttached compares the lists")
	}
}
