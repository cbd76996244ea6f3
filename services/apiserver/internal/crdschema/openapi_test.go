package crdschema

import "testing"

func TestOpenAPI(t *testing.T) {
	s := structuralOf(t, `
type: object
properties:
  spec:
    type: object
    x-kubernetes-validations: [{rule: self.a > 0}]
    properties:
      a: {type: integer, default: 1, maximum: 5}
      port: {x-kubernetes-int-or-string: true}
      ports: {type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [name], items: {type: object, required: [name], properties: {name: {type: string}}}}
`)
	want := `{"properties":{"spec":{"properties":{"a":{"default":1,"maximum":5,"type":"integer"},` +
		`"port":{"x-kubernetes-int-or-string":true},` +
		`"ports":{"items":{"properties":{"name":{"type":"string"}},"required":["name"],"type":"object"},"type":"array","x-kubernetes-list-map-keys":["name"],"x-kubernetes-list-type":"map"}},` +
		`"type":"object","x-kubernetes-validations":[{"rule":"self.a \u003e 0"}]}},"type":"object"}`
	if got := jsonOf(t, s.OpenAPI()); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
