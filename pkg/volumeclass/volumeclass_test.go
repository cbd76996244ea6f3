package volumeclass

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
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

func class(name string, created int64, annotations map[string]string) *storagev1.StorageClass {
	return &storagev1.StorageClass{Metadata: &metav1.ObjectMeta{Name: name, Annotations: annotations,
		CreationTimestamp: &timestamppb.Timestamp{Seconds: created}}}
}

func TestDefaultClass(t *testing.T) {
	def := map[string]string{AnnDefault: "true"}
	tests := []struct {
		name    string
		classes []*storagev1.StorageClass
		want    string
	}{
		{"none", nil, ""},
		{"none marked", []*storagev1.StorageClass{class("a", 1, nil), class("b", 2, map[string]string{AnnDefault: "True"})}, ""},
		{"one marked", []*storagev1.StorageClass{class("a", 1, nil), class("b", 2, def)}, "b"},
		{"beta annotation", []*storagev1.StorageClass{class("a", 1, map[string]string{AnnBetaDefault: "true"})}, "a"},
		{"newest of two", []*storagev1.StorageClass{class("old", 10, def), class("new", 20, def)}, "new"},
		{"same time: first by name", []*storagev1.StorageClass{class("zeta", 10, def), class("alpha", 10, def)}, "alpha"},
	}
	for _, tt := range tests {
		if got := DefaultClass(tt.classes).GetMetadata().GetName(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
