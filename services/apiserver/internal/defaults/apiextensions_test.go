package defaults

import (
	"testing"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

func TestCustomResourceDefinition(t *testing.T) {
	type (
		crd     = apiextensionsv1.CustomResourceDefinition
		spec    = apiextensionsv1.CustomResourceDefinitionSpec
		names   = apiextensionsv1.CustomResourceDefinitionNames
		version = apiextensionsv1.CustomResourceDefinitionVersion
		status  = apiextensionsv1.CustomResourceDefinitionStatus
	)
	none := &apiextensionsv1.CustomResourceConversion{Strategy: "None"}
	webhook := func(port *int32) *apiextensionsv1.CustomResourceConversion {
		return &apiextensionsv1.CustomResourceConversion{Strategy: "Webhook", Webhook: &apiextensionsv1.WebhookConversion{
			ClientConfig: &apiextensionsv1.WebhookClientConfig{Service: &apiextensionsv1.ServiceReference{Namespace: "ns", Name: "svc", Port: port}}}}
	}
	versions := []*version{{Name: "v1beta1", Served: true}, {Name: "v1", Served: true, Storage: true}, {Name: "v2", Storage: true}}
	tests := []struct {
		name     string
		in, want *crd
	}{
		{"names, conversion and stored versions",
			&crd{Spec: &spec{Names: &names{Plural: "foos", Kind: "FooBar"}, Versions: versions}},
			&crd{Spec: &spec{Names: &names{Plural: "foos", Singular: "foobar", Kind: "FooBar", ListKind: "FooBarList"}, Conversion: none, Versions: versions},
				Status: &status{StoredVersions: []string{"v1"}}}},
		{"set names and stored versions stay",
			&crd{Spec: &spec{Names: &names{Singular: "one", Kind: "Foo", ListKind: "Foos"}, Conversion: webhook(proto.Int32(8443)), Versions: versions},
				Status: &status{StoredVersions: []string{"v1beta1"}}},
			&crd{Spec: &spec{Names: &names{Singular: "one", Kind: "Foo", ListKind: "Foos"}, Conversion: webhook(proto.Int32(8443)), Versions: versions},
				Status: &status{StoredVersions: []string{"v1beta1"}}}},
		{"webhook service port",
			&crd{Spec: &spec{Names: &names{Kind: "Foo"}, Conversion: webhook(nil)}},
			&crd{Spec: &spec{Names: &names{Singular: "foo", Kind: "Foo", ListKind: "FooList"}, Conversion: webhook(proto.Int32(443))}}},
		{"no kind, no list kind", &crd{}, &crd{Spec: &spec{Names: &names{}, Conversion: none}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			CustomResourceDefinition(tt.in)
			equal(t, tt.in, tt.want)
			again := proto.Clone(tt.in).(*crd)
			CustomResourceDefinition(again)
			equal(t, again, tt.in)
		})
	}
}
