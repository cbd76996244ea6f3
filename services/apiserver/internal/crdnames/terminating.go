package crdnames

import (
	"fmt"
	"slices"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// CleanupFinalizer holds a deleted definition until its objects are gone.
const CleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io"

// The Terminating conditions of a definition being deleted, in the order
// they are written: by the delete itself, when the clean-up starts, and
// how it ended. A True one means objects may remain.

// InstanceDeletionPending is written by the delete that adds
// CleanupFinalizer.
func InstanceDeletionPending() *apiextensionsv1.CustomResourceDefinitionCondition {
	return condition(Terminating, True, "InstanceDeletionPending",
		"CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon")
}

// InstanceDeletionInProgress is written before the objects are deleted.
func InstanceDeletionInProgress() *apiextensionsv1.CustomResourceDefinitionCondition {
	return condition(Terminating, True, "InstanceDeletionInProgress", "CustomResource deletion is in progress")
}

// InstanceListFailed: the objects could not be listed.
func InstanceListFailed(err error) *apiextensionsv1.CustomResourceDefinitionCondition {
	return condition(Terminating, True, "InstanceDeletionFailed", fmt.Sprintf("could not list instances: %v", err))
}

// InstanceDeletionFailed: some objects could not be deleted.
func InstanceDeletionFailed(err error) *apiextensionsv1.CustomResourceDefinitionCondition {
	return condition(Terminating, True, "InstanceDeletionFailed", fmt.Sprintf("could not issue all deletes: %v", err))
}

// InstanceDeletionCheck: the objects were deleted but none remaining
// could not be confirmed.
func InstanceDeletionCheck(err error) *apiextensionsv1.CustomResourceDefinitionCondition {
	return condition(Terminating, True, "InstanceDeletionCheck",
		fmt.Sprintf("could not confirm zero CustomResources remaining: %v", err))
}

// InstanceDeletionCompleted: no objects remain.
func InstanceDeletionCompleted() *apiextensionsv1.CustomResourceDefinitionCondition {
	return condition(Terminating, False, "InstanceDeletionCompleted", "removed all instances")
}

// NeverEstablished: a definition never served has no objects to delete.
func NeverEstablished() *apiextensionsv1.CustomResourceDefinitionCondition {
	return condition(Terminating, False, "NeverEstablished", "resource was never established")
}

// OverlappingBuiltInResource: the definition names a built-in resource
// whose stored objects are not its own, so none are deleted.
func OverlappingBuiltInResource() *apiextensionsv1.CustomResourceDefinitionCondition {
	return condition(Terminating, False, "OverlappingBuiltInResource", "instances overlap with built-in resources in storage")
}

// OverlapsBuiltIn reports whether group and plural are a built-in
// resource that shares the storage a definition of that name would use
// (apiservices and customresourcedefinitions).
func OverlapsBuiltIn(group, plural string) bool {
	return group == "apiregistration.k8s.io" && plural == "apiservices" ||
		group == "apiextensions.k8s.io" && plural == "customresourcedefinitions"
}

// NeedsCleanup reports whether crd is being deleted and still held by
// CleanupFinalizer.
func NeedsCleanup(crd *apiextensionsv1.CustomResourceDefinition) bool {
	m := crd.GetMetadata()
	return m.GetDeletionTimestamp() != nil && slices.Contains(m.GetFinalizers(), CleanupFinalizer)
}

// RemoveCleanupFinalizer releases crd once its objects are gone.
func RemoveCleanupFinalizer(crd *apiextensionsv1.CustomResourceDefinition) {
	if crd.Metadata == nil {
		return
	}
	crd.Metadata.Finalizers = slices.DeleteFunc(crd.Metadata.Finalizers, func(f string) bool { return f == CleanupFinalizer })
}
