package volumeclass

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestClassOfClaimAndVolume(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ann   map[string]string
		spec  *string
		want  string
		named bool
	}{
		{name: "none", want: "", named: false},
		{name: "spec", spec: proto.String("fast"), want: "fast", named: true},
		{name: "spec empty", spec: proto.String(""), want: "", named: true},
		{name: "beta annotation wins", ann: map[string]string{AnnBetaClass: "old"}, spec: proto.String("fast"), want: "old", named: true},
		{name: "beta annotation empty wins", ann: map[string]string{AnnBetaClass: ""}, spec: proto.String("fast"), want: "", named: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.PersistentVolumeClaim{Metadata: &metav1.ObjectMeta{Annotations: tc.ann},
				Spec: &corev1.PersistentVolumeClaimSpec{StorageClassName: tc.spec}}
			if got := Claim(c); got != tc.want {
				t.Errorf("Claim = %q, want %q", got, tc.want)
			}
			if got := ClaimNamed(c); got != tc.named {
				t.Errorf("ClaimNamed = %v, want %v", got, tc.named)
			}
			v := &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Annotations: tc.ann},
				Spec: &corev1.PersistentVolumeSpec{StorageClassName: c.GetSpec().GetStorageClassName()}}
			if got := Volume(v); got != tc.want {
				t.Errorf("Volume = %q, want %q", got, tc.want)
			}
		})
	}
}
