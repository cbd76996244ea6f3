package storage

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/services/apiserver/internal/registry"
)

func class(name string, created int64, annotations map[string]string) *storagev1.StorageClass {
	return &storagev1.StorageClass{Metadata: &metav1.ObjectMeta{Name: name, Annotations: annotations,
		CreationTimestamp: &timestamppb.Timestamp{Seconds: created}}}
}

func TestProtection(t *testing.T) {
	plugin := Protection()
	tests := []struct {
		name string
		w    *registry.Write
		want []string
	}{
		{"new claim", &registry.Write{Operation: registry.OpCreate, Resource: &registry.Resource{Plural: "persistentvolumeclaims"},
			Object: &corev1.PersistentVolumeClaim{Metadata: &metav1.ObjectMeta{Finalizers: []string{"x"}}}}, []string{"x", PVCProtectionFinalizer}},
		{"new volume", &registry.Write{Operation: registry.OpCreate, Resource: &registry.Resource{Plural: "persistentvolumes"},
			Object: &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{}}}, []string{PVProtectionFinalizer}},
		{"already there", &registry.Write{Operation: registry.OpCreate, Resource: &registry.Resource{Plural: "persistentvolumes"},
			Object: &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Finalizers: []string{PVProtectionFinalizer}}}}, []string{PVProtectionFinalizer}},
		{"update", &registry.Write{Operation: registry.OpUpdate, Resource: &registry.Resource{Plural: "persistentvolumes"},
			Object: &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{}}}, nil},
	}
	for _, tt := range tests {
		if err := plugin.Mutate(context.Background(), tt.w); err != nil {
			t.Fatal(err)
		}
		var got []string
		switch o := tt.w.Object.(type) {
		case *corev1.PersistentVolume:
			got = o.GetMetadata().GetFinalizers()
		case *corev1.PersistentVolumeClaim:
			got = o.GetMetadata().GetFinalizers()
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: finalizers %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestClaimClassAndGrowth(t *testing.T) {
	claim := func(class *string, size string, annotations map[string]string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{Metadata: &metav1.ObjectMeta{Annotations: annotations}, Spec: &corev1.PersistentVolumeClaimSpec{
			StorageClassName: class, Resources: &corev1.VolumeResourceRequirements{Requests: map[string]*metav1.Quantity{"storage": {String_: size}}}}}
	}
	if !grows(claim(nil, "2Gi", nil), claim(nil, "1024Mi", nil)) || grows(claim(nil, "1Gi", nil), claim(nil, "1024Mi", nil)) {
		t.Error("grows compares quantities, not strings")
	}
}
