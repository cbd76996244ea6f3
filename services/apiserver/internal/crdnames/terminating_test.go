package crdnames

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestTerminatingConditions(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		got  *apiextensionsv1.CustomResourceDefinitionCondition
		want *apiextensionsv1.CustomResourceDefinitionCondition
	}{
		{"pending", InstanceDeletionPending(), condition(Terminating, True, "InstanceDeletionPending",
			"CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon")},
		{"in progress", InstanceDeletionInProgress(), condition(Terminating, True, "InstanceDeletionInProgress",
			"CustomResource deletion is in progress")},
		{"list failed", InstanceListFailed(boom), condition(Terminating, True, "InstanceDeletionFailed", "could not list instances: boom")},
		{"delete failed", InstanceDeletionFailed(boom), condition(Terminating, True, "InstanceDeletionFailed", "could not issue all deletes: boom")},
		{"check failed", InstanceDeletionCheck(boom), condition(Terminating, True, "InstanceDeletionCheck",
			"could not confirm zero CustomResources remaining: boom")},
		{"completed", InstanceDeletionCompleted(), condition(Terminating, False, "InstanceDeletionCompleted", "removed all instances")},
		{"never established", NeverEstablished(), condition(Terminating, False, "NeverEstablished", "resource was never established")},
		{"overlapping", OverlappingBuiltInResource(), condition(Terminating, False, "OverlappingBuiltInResource",
			"instances overlap with built-in resources in storage")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !Equivalent(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestCleanupFinalizer(t *testing.T) {
	deleted := timestamppb.New(now)
	tests := []struct {
		name       string
		meta       *metav1.ObjectMeta
		wantNeeded bool
	}{
		{"not deleted", &metav1.ObjectMeta{Finalizers: []string{CleanupFinalizer}}, false},
		{"deleted without the finalizer", &metav1.ObjectMeta{DeletionTimestamp: deleted, Finalizers: []string{"other"}}, false},
		{"deleted and held", &metav1.ObjectMeta{DeletionTimestamp: deleted, Finalizers: []string{"other", CleanupFinalizer}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crd := &apiextensionsv1.CustomResourceDefinition{Metadata: tt.meta}
			if got := NeedsCleanup(crd); got != tt.wantNeeded {
				t.Errorf("got %v, want %v", got, tt.wantNeeded)
			}
			RemoveCleanupFinalizer(crd)
			if slices.Contains(crd.Metadata.Finalizers, CleanupFinalizer) || NeedsCleanup(crd) {
				t.Errorf("got finalizers %v after removing %s", crd.Metadata.Finalizers, CleanupFinalizer)
			}
		})
	}
}

func TestOverlapsBuiltIn(t *testing.T) {
	tests := []struct {
		group, plural string
		want          bool
	}{
		{"apiregistration.k8s.io", "apiservices", true},
		{"apiextensions.k8s.io", "customresourcedefinitions", true},
		{"example.com", "apiservices", false},
	}
	for _, tt := range tests {
		if got := OverlapsBuiltIn(tt.group, tt.plural); got != tt.want {
			t.Errorf("%s.%s: got %v, want %v", tt.plural, tt.group, got, tt.want)
		}
	}
}

func TestRecordStorageVersion(t *testing.T) {
	versions := func(vs ...*apiextensionsv1.CustomResourceDefinitionVersion) *apiextensionsv1.CustomResourceDefinitionSpec {
		return &apiextensionsv1.CustomResourceDefinitionSpec{Versions: vs}
	}
	v1 := &apiextensionsv1.CustomResourceDefinitionVersion{Name: "v1", Storage: true}
	v2 := &apiextensionsv1.CustomResourceDefinitionVersion{Name: "v2", Storage: true}
	tests := []struct {
		name   string
		spec   *apiextensionsv1.CustomResourceDefinitionSpec
		stored []string
		want   []string
	}{
		{"created", versions(v1), nil, []string{"v1"}},
		{"recorded already", versions(v1), []string{"v1"}, []string{"v1"}},
		{"a new storage version", versions(&apiextensionsv1.CustomResourceDefinitionVersion{Name: "v1"}, v2), []string{"v1"}, []string{"v1", "v2"}},
		{"no storage version", versions(&apiextensionsv1.CustomResourceDefinitionVersion{Name: "v1"}), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crd := &apiextensionsv1.CustomResourceDefinition{Spec: tt.spec}
			if tt.stored != nil {
				crd.Status = &apiextensionsv1.CustomResourceDefinitionStatus{StoredVersions: tt.stored}
			}
			RecordStorageVersion(crd)
			if got := crd.GetStatus().GetStoredVersions(); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
