package crdnames

import (
	"slices"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// StorageVersion is the name of the version crd stores objects in, ""
// when it marks none.
func StorageVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, v := range crd.GetSpec().GetVersions() {
		if v.GetStorage() {
			return v.GetName()
		}
	}
	return ""
}

// RecordStorageVersion adds crd's storage version to
// status.storedVersions when it is not there, as Kubernetes does to a
// definition being created (after clearing its status) or updated
// (keeping the stored status) before validating it.
func RecordStorageVersion(crd *apiextensionsv1.CustomResourceDefinition) {
	v := StorageVersion(crd)
	if v == "" || slices.Contains(crd.GetStatus().GetStoredVersions(), v) {
		return
	}
	if crd.Status == nil {
		crd.Status = &apiextensionsv1.CustomResourceDefinitionStatus{}
	}
	crd.Status.StoredVersions = append(crd.Status.StoredVersions, v)
}
