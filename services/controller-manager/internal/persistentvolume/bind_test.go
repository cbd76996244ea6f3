package persistentvolume

import (
	"slices"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// The claim takes the volume's capacity when it becomes Bound, and keeps
// its own afterwards (a PV edited or resized shows in the claim only once
// a resizer says so).
func TestClaimStatusCapacity(t *testing.T) {
	pv := &corev1.PersistentVolume{Spec: &corev1.PersistentVolumeSpec{AccessModes: []string{"ReadWriteOnce"},
		Capacity: map[string]*metav1.Quantity{"storage": {String_: "2Gi"}}}}
	status := func(phase, size string) *corev1.PersistentVolumeClaimStatus {
		st := &corev1.PersistentVolumeClaimStatus{Phase: phase}
		if size != "" {
			st.Capacity = map[string]*metav1.Quantity{"storage": {String_: size}}
		}
		return st
	}
	tests := []struct {
		name  string
		st    *corev1.PersistentVolumeClaimStatus
		v     *corev1.PersistentVolume
		want  string
		modes bool
	}{
		{"becoming bound", status("Pending", ""), pv, "2Gi", true},
		{"bound already: kept", status("Bound", "1Gi"), pv, "1Gi", true},
		{"no volume: cleared", status("Bound", "1Gi"), nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modes, capacity := claimStatusFrom(tt.st, "Bound", tt.v)
			if got := capacity["storage"].GetString_(); got != tt.want {
				t.Errorf("capacity = %q, want %q", got, tt.want)
			}
			if slices.Equal(modes, []string{"ReadWriteOnce"}) != tt.modes {
				t.Errorf("access modes = %q", modes)
			}
		})
	}
}

// Only a volume an external provisioner made is left to it; a static CSI
// volume with reclaim Delete has no deleter.
func TestExternallyDeleted(t *testing.T) {
	csi := &corev1.PersistentVolumeSpec{PersistentVolumeSource: &corev1.PersistentVolumeSource{Csi: &corev1.CSIPersistentVolumeSource{Driver: "local.csi.skiff.dev", VolumeHandle: "h"}}}
	tests := []struct {
		name string
		by   string
		want bool
	}{
		{"provisioned by a CSI driver", "local.csi.skiff.dev", true},
		{"static CSI volume", "", false},
		{"in-tree provisioner", "kubernetes.io/host-path", false},
	}
	for _, tt := range tests {
		v := &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{}, Spec: csi}
		if tt.by != "" {
			v.Metadata.Annotations = map[string]string{AnnProvisionedBy: tt.by}
		}
		if got := externallyDeleted(v); got != tt.want {
			t.Errorf("%s: externallyDeleted = %v, want %v", tt.name, got, tt.want)
		}
	}
}
