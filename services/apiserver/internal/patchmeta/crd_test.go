package patchmeta

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/util/strategicpatch"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

func TestCustomResourceDefinitionPatchMeta(t *testing.T) {
	crd := For(&apiextensionsv1.CustomResourceDefinition{})
	spec, _, err := crd.LookupPatchMetadataForStruct("spec")
	if err != nil {
		t.Fatal(err)
	}
	version, pm, err := spec.LookupPatchMetadataForSlice("versions")
	if err != nil || pm.GetPatchMergeKey() != "" {
		t.Fatalf("versions: got key %q, err %v; want no merge key (atomic)", pm.GetPatchMergeKey(), err)
	}
	schema, _, err := version.LookupPatchMetadataForStruct("schema")
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := schema.LookupPatchMetadataForStruct("openAPIV3Schema")
	if err != nil {
		t.Fatal(err)
	}
	props, _, err := root.LookupPatchMetadataForStruct("properties")
	if err != nil {
		t.Fatal(err)
	}
	prop, _, err := props.LookupPatchMetadataForStruct("replicas")
	if err != nil {
		t.Fatal(err)
	}
	_, pm, err = prop.LookupPatchMetadataForSlice("x-kubernetes-validations")
	if err != nil || pm.GetPatchMergeKey() != "rule" {
		t.Fatalf("x-kubernetes-validations: got key %q, err %v; want rule", pm.GetPatchMergeKey(), err)
	}
	// items, additionalProperties, default, enum, dependencies values: any
	// JSON value, looked into freely.
	for _, key := range []string{"items", "additionalProperties", "additionalItems", "default", "example", "enum"} {
		v, _, err := prop.LookupPatchMetadataForStruct(key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if _, _, err := v.LookupPatchMetadataForStruct("anything"); err != nil {
			t.Errorf("%s.anything: got %v, want any key found", key, err)
		}
		if _, pm, err := v.LookupPatchMetadataForSlice("list"); err != nil || pm.GetPatchMergeKey() != "" {
			t.Errorf("%s.list: got key %q, err %v; want a list without merge key", key, pm.GetPatchMergeKey(), err)
		}
	}
	deps, _, _ := prop.LookupPatchMetadataForStruct("dependencies")
	dep, _, err := deps.LookupPatchMetadataForStruct("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dep.LookupPatchMetadataForStruct("properties"); err != nil {
		t.Errorf("dependencies value: %v", err)
	}
	if _, _, err := prop.LookupPatchMetadataForStruct("nosuchfield"); err == nil {
		t.Error("unknown schema field found")
	}
}

// TestStrategicMergeOfSchema: a patch of a schema merges its validation
// rules by rule and its items schema key by key, and replaces
// additionalProperties, a schema, with a boolean.
func TestStrategicMergeOfSchema(t *testing.T) {
	original := []byte(`{"type":"object","additionalProperties":{"type":"string"},
		"items":{"type":"object","properties":{"x":{"type":"string"}}},
		"x-kubernetes-validations":[{"rule":"r1","message":"m1"},{"rule":"r2"}]}`)
	patch := []byte(`{"additionalProperties":false,"items":{"properties":{"y":{"type":"integer"}}},
		"x-kubernetes-validations":[{"rule":"r1","message":"m1b"}]}`)
	out, err := strategicpatch.StrategicMergePatchUsingLookupPatchMeta(original, patch, For(&apiextensionsv1.JSONSchemaProps{}))
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(`{"type":"object","additionalProperties":false,
		"items":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"integer"}}},
		"x-kubernetes-validations":[{"rule":"r1","message":"m1b"},{"rule":"r2"}]}`), &want)
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("got %s, want %s", gotJSON, wantJSON)
	}
}
