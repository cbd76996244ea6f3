package fieldmanager

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/managedfields"
)

// testSchemas are OpenAPI v3 component schemas as the server publishes
// them, cut down to a Deployment-like and a ConfigMap-like kind.
const testSchemas = `{
"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object", "properties": {
  "name": {"type": "string"}, "namespace": {"type": "string"}, "uid": {"type": "string"},
  "resourceVersion": {"type": "string"}, "generation": {"type": "integer", "format": "int64"},
  "creationTimestamp": {"type": "string", "format": "date-time"},
  "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
  "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
  "managedFields": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"}]}}}},
"io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry": {"type": "object", "properties": {
  "manager": {"type": "string"}, "operation": {"type": "string"}, "apiVersion": {"type": "string"},
  "time": {"type": "string", "format": "date-time"}, "fieldsType": {"type": "string"},
  "fieldsV1": {"type": "object"}, "subresource": {"type": "string"}}},
"io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
  "matchLabels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}}}},
"io.k8s.api.apps.v1.Deployment": {"type": "object",
  "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
  "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
  "metadata": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},
  "spec": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]},
  "status": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStatus"}]}}},
"io.k8s.api.apps.v1.DeploymentSpec": {"type": "object", "properties": {
  "replicas": {"type": "integer", "format": "int32"},
  "selector": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"},
  "template": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}]}}},
"io.k8s.api.apps.v1.DeploymentStatus": {"type": "object", "properties": {
  "replicas": {"type": "integer", "format": "int32"}, "readyReplicas": {"type": "integer", "format": "int32"}}},
"io.k8s.api.core.v1.PodTemplateSpec": {"type": "object", "properties": {
  "metadata": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},
  "spec": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]}}},
"io.k8s.api.core.v1.PodSpec": {"type": "object", "properties": {
  "containers": {"type": "array", "items": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]},
    "x-kubernetes-list-map-keys": ["name"], "x-kubernetes-list-type": "map",
    "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"}}},
"io.k8s.api.core.v1.Container": {"type": "object", "required": ["name"], "properties": {
  "name": {"type": "string", "default": ""}, "image": {"type": "string"},
  "args": {"type": "array", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "atomic"}}},
"io.k8s.api.core.v1.ConfigMap": {"type": "object",
  "x-kubernetes-group-version-kind": [{"group": "", "kind": "ConfigMap", "version": "v1"}],
  "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
  "metadata": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},
  "data": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
  "immutable": {"type": "boolean"}}}
}`

// Times of the writes in the tests; t0 has a fraction of a second that
// managed fields drop.
var (
	t0 = time.Date(2026, 3, 1, 10, 0, 0, 500_000_000, time.UTC)
	t1 = t0.Add(time.Hour)
	t2 = t0.Add(2 * time.Hour)
)

func testConverter(t *testing.T) managedfields.TypeConverter {
	t.Helper()
	var schemas map[string]any
	if err := json.Unmarshal([]byte(testSchemas), &schemas); err != nil {
		t.Fatalf("decode test schemas: %v", err)
	}
	tc, err := NewTypeConverter(schemas, false)
	if err != nil {
		t.Fatalf("NewTypeConverter: %v", err)
	}
	return tc
}

// statusReset are a kind with a status subresource's reset fields.
var statusReset = map[string][]string{"": {"status"}, "status": {"spec", "metadata"}}

func deployments(t *testing.T) *Manager {
	return New(testConverter(t), "apps/v1", "Deployment", statusReset)
}

func configMaps(t *testing.T) *Manager {
	return New(testConverter(t), "v1", "ConfigMap", nil)
}

// obj decodes a JSON object as the server does.
func obj(t *testing.T, text string) map[string]any {
	t.Helper()
	var o map[string]any
	if err := utiljson.Unmarshal([]byte(text), &o); err != nil {
		t.Fatalf("decode %s: %v", text, err)
	}
	return o
}

// wantObject fails unless got is the JSON object want.
func wantObject(t *testing.T, got map[string]any, want string) {
	t.Helper()
	if w := obj(t, want); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		n, _ := json.Marshal(w)
		t.Fatalf("got\n%s\nwant\n%s", g, n)
	}
}

// must returns a write's result, failing the test on its error:
// must(t)(m.Apply(...)).
func must(t *testing.T) func(map[string]any, error) map[string]any {
	return func(o map[string]any, err error) map[string]any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
}

// entry is a managedFields entry as JSON; at "" leaves the time out.
func entry(manager, operation, subresource, at, fields string) string {
	e := `{"manager": "` + manager + `", "operation": "` + operation + `", "apiVersion": "apps/v1"`
	if subresource != "" {
		e += `, "subresource": "` + subresource + `"`
	}
	if at != "" {
		e += `, "time": "` + at + `"`
	}
	return e + `, "fieldsType": "FieldsV1", "fieldsV1": ` + fields + `}`
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
