package customresource

import (
	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/crdnames"
	"skiff.dev/services/apiserver/internal/registry"
)

func newObject() proto.Message { return &apiextensionsv1.CustomObject{} }
func newList() proto.Message   { return &apiextensionsv1.CustomObjectList{} }

// resourceFor is the descriptor of one served version of a CRD, under the
// names the CRD has been granted (status.acceptedNames).
func resourceFor(crd *apiextensionsv1.CustomResourceDefinition, v *apiextensionsv1.CustomResourceDefinitionVersion, schema Schema) *registry.Resource {
	names := crd.GetStatus().GetAcceptedNames()
	hasStatus := v.GetSubresources().GetStatus() != nil
	var subresources, selectable []string
	if hasStatus {
		subresources = append(subresources, "status")
	}
	if v.GetSubresources().GetScale() != nil {
		subresources = append(subresources, "scale")
	}
	for _, f := range v.GetSelectableFields() {
		selectable = append(selectable, f.GetJsonPath())
	}
	return &registry.Resource{
		Group: crd.GetSpec().GetGroup(), Version: v.GetName(), StorageVersion: crdnames.StorageVersion(crd),
		Plural: names.GetPlural(), Singular: names.GetSingular(), Kind: names.GetKind(), ListKind: names.GetListKind(),
		ShortNames: names.GetShortNames(), Categories: names.GetCategories(),
		Namespaced: crd.GetSpec().GetScope() == "Namespaced",
		HasStatus:  hasStatus, Subresources: subresources,
		New: newObject, NewList: newList,
		Strategy: strategy(schema, hasStatus, selectable),
		// Everything but metadata and status is the spec: a change to it
		// bumps metadata.generation.
		SpecPart:   "content",
		NoProtobuf: true,
		Printer:    printer(v.GetAdditionalPrinterColumns()),
	}
}
