package crdschema

import "testing"

func TestDefault(t *testing.T) {
	s := structuralOf(t, `
type: object
properties:
  spec:
    type: object
    default: {}
    properties:
      replicas: {type: integer, default: 1}
      strategy:
        type: object
        properties:
          type: {type: string, default: Rolling}
          maxSurge: {x-kubernetes-int-or-string: true, default: "25%"}
      nullableField: {type: string, nullable: true, default: x}
      containers:
        type: array
        items:
          type: object
          properties: {name: {type: string}, pull: {type: string, default: IfNotPresent}}
      limits: {type: object, additionalProperties: {type: object, properties: {cpu: {type: string, default: "1"}}}}
`)
	tests := []struct{ name, obj, want string }{
		{"missing object gets its default, then its fields' defaults", `{"kind":"K"}`,
			`{"kind":"K","spec":{"nullableField":"x","replicas":1}}`},
		{"present values win; absent nested object stays absent", `{"spec":{"replicas":3,"nullableField":"y"}}`,
			`{"spec":{"nullableField":"y","replicas":3}}`},
		{"nested objects, list items and map values", `{"spec":{"strategy":{},"containers":[{"name":"a"},{"name":"b","pull":"Always"}],"limits":{"x":{}}}}`,
			`{"spec":{"containers":[{"name":"a","pull":"IfNotPresent"},{"name":"b","pull":"Always"}],"limits":{"x":{"cpu":"1"}},"nullableField":"x","replicas":1,"strategy":{"maxSurge":"25%","type":"Rolling"}}}`},
		{"null: replaced unless nullable", `{"spec":{"replicas":null,"nullableField":null}}`,
			`{"spec":{"nullableField":null,"replicas":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := objectOf(t, tt.obj)
			s.Default(obj)
			if got := jsonOf(t, obj); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDefaultsAreCopied(t *testing.T) {
	s := structuralOf(t, `
type: object
properties:
  spec: {type: object, default: {a: {}}, properties: {a: {type: object, properties: {b: {type: string}}}}}
`)
	first, second := map[string]any{}, map[string]any{}
	s.Default(first)
	first["spec"].(map[string]any)["a"].(map[string]any)["b"] = "changed"
	s.Default(second)
	if got, want := jsonOf(t, second), `{"spec":{"a":{}}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
