package spec

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestCustomResourcesInV2: a custom resource's OpenAPI v2 definition is
// its schema as Kubernetes publishes it in v2.
func TestCustomResourcesInV2(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal([]byte(`{"type":"object","properties":{
		"spec":{"type":"object","required":["a","b"],"properties":{
			"a":{"type":"string","nullable":true},
			"b":{"type":"array","items":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{"c":{"type":"string"}}}},
			"d":{"anyOf":[{"type":"integer"},{"type":"string"}],"x-kubernetes-int-or-string":true}}}}}`), &schema); err != nil {
		t.Fatal(err)
	}
	bare := map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}
	doc := SwaggerDocument([]Resource{
		{Group: "stable.example.com", Version: "v1", Kind: "Typed", Plural: "typeds", Schema: schema},
		{Group: "stable.example.com", Version: "v1", Kind: "Loose", Plural: "looses", Schema: bare},
	})
	defs := doc["definitions"].(map[string]any)
	spec := defs["com.example.stable.v1.Typed"].(map[string]any)["properties"].(map[string]any)["spec"].(map[string]any)
	want := map[string]any{"type": "object", "required": []any{"b"}, "properties": map[string]any{
		"a": map[string]any{},
		"b": map[string]any{"type": "array", "items": map[string]any{"x-kubernetes-preserve-unknown-fields": true}},
		"d": map[string]any{"x-kubernetes-int-or-string": true},
	}}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("spec in v2:\n got %v\nwant %v", spec, want)
	}
	loose := defs["com.example.stable.v1.Loose"].(map[string]any)
	if _, ok := loose["properties"]; ok || loose["type"] != "object" || loose["x-kubernetes-preserve-unknown-fields"] != nil {
		t.Errorf("a schema keeping unknown fields at its root in v2: got %v, want a bare object", loose)
	}
}
