package crdschema

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/json"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/field"
)

// schemaOf decodes a schema written in YAML as a CRD manifest holds it.
func schemaOf(t *testing.T, y string) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	p := &apiextensionsv1.JSONSchemaProps{}
	if err := kjson.UnmarshalYAML([]byte(y), p); err != nil {
		t.Fatalf("decode schema: %v", err)
	}
	return p
}

func structuralOf(t *testing.T, y string) *Structural {
	t.Helper()
	s, err := New(schemaOf(t, y))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// objectOf decodes a JSON object as the API server decodes request bodies.
func objectOf(t *testing.T, j string) map[string]any {
	t.Helper()
	if j == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(j), &m); err != nil {
		t.Fatalf("decode object: %v", err)
	}
	return m
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(b)
}

// messages renders errors sorted, so that map order does not matter.
func messages(errs field.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	slices.Sort(out)
	return out
}

func expectMessages(t *testing.T, got field.ErrorList, want ...string) {
	t.Helper()
	slices.Sort(want)
	if g := messages(got); !slices.Equal(g, want) {
		t.Errorf("got errors\n  %s\nwant\n  %s", strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

var rootPath = field.NewPath("spec", "versions").Index(0).Child("schema", "openAPIV3Schema")

const prefix = "spec.versions[0].schema.openAPIV3Schema"
