package spec

import (
	"encoding/json"
	"slices"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	openapiproto "k8s.io/kube-openapi/pkg/util/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

func crdResource() Resource {
	return Resource{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition",
		Plural: "customresourcedefinitions", Subresources: []string{"status"},
		Object: (&apiextensionsv1.CustomResourceDefinition{}).ProtoReflect().Descriptor(),
		List:   (&apiextensionsv1.CustomResourceDefinitionList{}).ProtoReflect().Descriptor()}
}

const apiextensionsPrefix = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

// TestCustomResourceDefinitionSchemas: the schemas of the apiextensions
// contract have Kubernetes' names, required fields and extensions
// (compared with Kubernetes 1.34's published v3 document), and the
// values of more than one JSON type have no type, as there.
func TestCustomResourceDefinitionSchemas(t *testing.T) {
	data, err := json.Marshal(Document("apiextensions.k8s.io", "v1", []Resource{crdResource()}))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Components struct {
			Schemas map[string]map[string]any
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	schema := func(name string) map[string]any {
		s, ok := d.Components.Schemas[apiextensionsPrefix+name]
		if !ok {
			t.Fatalf("no schema %s", name)
		}
		return s
	}
	required := map[string][]string{
		"CustomResourceDefinition":          {"spec"},
		"CustomResourceDefinitionList":      {"items"},
		"CustomResourceDefinitionSpec":      {"group", "names", "scope", "versions"},
		"CustomResourceDefinitionNames":     {"plural", "kind"},
		"CustomResourceDefinitionVersion":   {"name", "served", "storage"},
		"CustomResourceDefinitionCondition": {"type", "status"},
		"CustomResourceColumnDefinition":    {"name", "type", "jsonPath"},
		"CustomResourceConversion":          {"strategy"},
		"WebhookConversion":                 {"conversionReviewVersions"},
		"ServiceReference":                  {"namespace", "name"},
		"CustomResourceSubresourceScale":    {"specReplicasPath", "statusReplicasPath"},
		"SelectableField":                   {"jsonPath"},
		"ValidationRule":                    {"rule"},
		"CustomResourceDefinitionStatus":    nil,
		"JSONSchemaProps":                   nil,
	}
	for name, want := range required {
		var got []string
		if r, ok := schema(name)["required"].([]any); ok {
			for _, f := range r {
				got = append(got, f.(string))
			}
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s required: got %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"JSON", "JSONSchemaPropsOrArray", "JSONSchemaPropsOrBool", "JSONSchemaPropsOrStringArray"} {
		s := schema(name)
		if _, typed := s["type"]; typed || s["properties"] != nil || s["description"] == nil {
			t.Errorf("%s: got %v, want a description and no type or properties", name, s)
		}
	}
	props := schema("JSONSchemaProps")["properties"].(map[string]any)
	for _, key := range []string{"$schema", "$ref", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-list-map-keys"} {
		if props[key] == nil {
			t.Errorf("JSONSchemaProps has no property %q", key)
		}
	}
	rules := props["x-kubernetes-validations"].(map[string]any)
	if rules["x-kubernetes-patch-merge-key"] != "rule" || rules["x-kubernetes-list-type"] != "map" {
		t.Errorf("x-kubernetes-validations: got %v, want merge key rule and list type map", rules)
	}
	nested, _ := json.Marshal(props["properties"])
	if want := `{"additionalProperties":{"$ref":"#/components/schemas/` + apiextensionsPrefix + `JSONSchemaProps"},"type":"object"}`; string(nested) != want {
		t.Errorf("properties: got %s, want %s", nested, want)
	}
}

// TestCustomResourceDefinitionSwagger: kubectl's reader of the v2
// document takes the values of more than one JSON type as arbitrary
// values, as it does in Kubernetes' document, so it validates and
// patches them as such.
func TestCustomResourceDefinitionSwagger(t *testing.T) {
	data, err := json.Marshal(SwaggerDocument([]Resource{crdResource()}))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapiv2.ParseDocument(data)
	if err != nil {
		t.Fatalf("gnostic cannot read the document: %v", err)
	}
	models, err := openapiproto.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("kube-openapi cannot read the document: %v", err)
	}
	props, ok := models.LookupModel(apiextensionsPrefix + "JSONSchemaProps").(*openapiproto.Kind)
	if !ok {
		t.Fatalf("JSONSchemaProps: got %T, want a kind", models.LookupModel(apiextensionsPrefix+"JSONSchemaProps"))
	}
	for _, field := range []string{"items", "additionalProperties", "default"} {
		ref, ok := props.Fields[field].(openapiproto.Reference)
		if !ok {
			t.Errorf("%s: got %T, want a reference", field, props.Fields[field])
			continue
		}
		if _, ok := ref.SubSchema().(*openapiproto.Arbitrary); !ok {
			t.Errorf("%s: got %T, want an arbitrary value", field, ref.SubSchema())
		}
	}
	if typeName(props.Fields["enum"]) != "array" || typeName(props.Fields["dependencies"]) != "map" {
		t.Errorf("enum, dependencies: got %s, %s, want array, map", typeName(props.Fields["enum"]), typeName(props.Fields["dependencies"]))
	}
	// Properties named like schema keywords are properties: oneOf is a
	// list of schemas, and type a string, not what v2 makes of a oneOf.
	var raw struct {
		Definitions map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	got := raw.Definitions[apiextensionsPrefix+"JSONSchemaProps"].Properties
	if _, ok := got["type"].(map[string]any); !ok {
		t.Errorf("JSONSchemaProps.properties.type: got %v, want a schema", got["type"])
	}
	if oneOf, _ := got["oneOf"].(map[string]any); oneOf["type"] != "array" {
		t.Errorf("JSONSchemaProps.properties.oneOf: got %v, want an array schema", got["oneOf"])
	}
}
