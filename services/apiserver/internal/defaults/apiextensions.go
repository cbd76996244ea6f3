package defaults

import (
	"strings"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// CustomResourceDefinition: the singular name is the lowercased kind and
// the list kind the kind with "List" appended, conversion is None, a
// conversion webhook's service port is 443, and status.storedVersions
// starts with the first storage version, as apiextensions/v1 defaults
// them. Schemas have no defaults of their own.
func CustomResourceDefinition(crd *apiextensionsv1.CustomResourceDefinition) {
	if crd.Spec == nil {
		crd.Spec = &apiextensionsv1.CustomResourceDefinitionSpec{}
	}
	sp := crd.Spec
	if sp.Names == nil {
		sp.Names = &apiextensionsv1.CustomResourceDefinitionNames{}
	}
	if sp.Names.Singular == "" {
		sp.Names.Singular = strings.ToLower(sp.Names.Kind)
	}
	if sp.Names.ListKind == "" && sp.Names.Kind != "" {
		sp.Names.ListKind = sp.Names.Kind + "List"
	}
	if sp.Conversion == nil {
		sp.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: "None"}
	}
	if svc := sp.Conversion.GetWebhook().GetClientConfig().GetService(); svc != nil && svc.Port == nil {
		svc.Port = proto.Int32(443)
	}
	if len(crd.GetStatus().GetStoredVersions()) == 0 {
		for _, v := range sp.Versions {
			if v.GetStorage() {
				if crd.Status == nil {
					crd.Status = &apiextensionsv1.CustomResourceDefinitionStatus{}
				}
				crd.Status.StoredVersions = []string{v.GetName()}
				break
			}
		}
	}
}
