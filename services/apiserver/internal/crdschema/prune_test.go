package crdschema

import (
	"slices"
	"testing"
)

func TestPrune(t *testing.T) {
	s := structuralOf(t, `
type: object
properties:
  spec:
    type: object
    properties:
      items:
        type: array
        items: {type: object, properties: {name: {type: string}}}
      labels: {type: object, additionalProperties: {type: string}}
      raw: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {known: {type: object, properties: {a: {type: string}}}}}
      replicas: {type: integer}
      template:
        type: object
        x-kubernetes-embedded-resource: true
        properties: {spec: {type: object, properties: {x: {type: string}}}}
`)
	tests := []struct {
		name, obj, want string
		unknown         []string
	}{
		{"root type and object meta are kept", `{"apiVersion":"x.io/v1","kind":"K","metadata":{"name":"a","whatever":1},"extra":1}`,
			`{"apiVersion":"x.io/v1","kind":"K","metadata":{"name":"a","whatever":1}}`, []string{"extra"}},
		{"unknown fields, also in list items", `{"spec":{"foo":1,"replicas":2,"items":[{"name":"a","bar":true},{"baz":{}}]}}`,
			`{"spec":{"items":[{"name":"a"},{}],"replicas":2}}`, []string{"spec.foo", "spec.items[0].bar", "spec.items[1].baz"}},
		{"additionalProperties declares every key", `{"spec":{"labels":{"a":"b","c":"d"}}}`, `{"spec":{"labels":{"a":"b","c":"d"}}}`, nil},
		{"preserve-unknown-fields keeps its own unknowns only", `{"spec":{"raw":{"anything":{"deep":1},"known":{"a":"x","b":"y"}}}}`,
			`{"spec":{"raw":{"anything":{"deep":1},"known":{"a":"x"}}}}`, []string{"spec.raw.known.b"}},
		{"embedded resources keep type meta and get ObjectMeta's fields", `{"spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"},"bogus":1},"spec":{"x":"y","z":1},"status":{}}}}`,
			`{"spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"a":"b"},"name":"p"},"spec":{"x":"y"}}}}`,
			[]string{"spec.template.spec.z", "spec.template.status", "spec.template.metadata.bogus"}},
		{"null of a non-nullable field is dropped unreported", `{"spec":{"replicas":null}}`, `{"spec":{}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := objectOf(t, tt.obj)
			unknown := s.Prune(obj)
			if got := jsonOf(t, obj); got != tt.want {
				t.Errorf("got object %s, want %s", got, tt.want)
			}
			if !slices.Equal(unknown, tt.unknown) {
				t.Errorf("got unknown fields %q, want %q", unknown, tt.unknown)
			}
		})
	}
}

func TestPruneWithoutSchema(t *testing.T) {
	s, err := New(nil)
	if err != nil {
		t.Fatalf("New(nil): %v", err)
	}
	obj := objectOf(t, `{"apiVersion":"x.io/v1","kind":"K","metadata":{"name":"a"},"spec":{"a":1}}`)
	if got, want := s.Prune(obj), []string{"spec"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if s.OpenAPI() != nil {
		t.Errorf("got an OpenAPI schema for a version without a schema")
	}
}
