package kinds

import (
	"time"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/crdnames"
	"skiff.dev/services/apiserver/internal/crdschema"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

func customResourceDefinitions() *registry.Resource {
	return &registry.Resource{
		Group: "apiextensions.k8s.io", Version: "v1", Plural: "customresourcedefinitions", Singular: "customresourcedefinition",
		Kind: "CustomResourceDefinition", ListKind: "CustomResourceDefinitionList",
		ShortNames: []string{"crd", "crds"}, Categories: []string{"api-extensions"}, HasStatus: true,
		New: newOf[apiextensionsv1.CustomResourceDefinition](), NewList: newOf[apiextensionsv1.CustomResourceDefinitionList](),
		Strategy: crdStrategy,
	}
}

// crdStrategy: Kubernetes' CustomResourceDefinition strategy. The storage
// version joins status.storedVersions on every write; a delete holds the
// definition with the customresourcecleanup finalizer until the custom
// resource controller has deleted its objects.
var crdStrategy = registry.Strategy{
	Default: mutate(func(crd *apiextensionsv1.CustomResourceDefinition) {
		defaults.CustomResourceDefinition(crd)
		crdnames.RecordStorageVersion(crd)
	}),
	// The create and update checks are complete on their own (an update
	// allows what the old definition already had), so there is no
	// Validate; a status write checks the status alone.
	ValidateCreate: check(func(crd *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
		return validate.ValidateCustomResourceDefinition(crd, crdschema.Check)
	}),
	ValidateUpdate: checkUpdate(func(crd, old *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
		return validate.ValidateCustomResourceDefinitionUpdate(crd, old, crdschema.Check)
	}),
	ValidateStatusUpdate: checkUpdate(func(crd, _ *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
		return validate.ValidateCustomResourceDefinitionStatus(crd)
	}),
	DeleteFinalizers: func(proto.Message) []string { return []string{crdnames.CleanupFinalizer} },
	PrepareForDelete: mutate(func(crd *apiextensionsv1.CustomResourceDefinition) {
		if crd.GetMetadata().GetDeletionTimestamp() == nil {
			crdnames.SetCondition(crd, crdnames.InstanceDeletionPending(), time.Now())
		}
	}),
}
