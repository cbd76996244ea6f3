package crdschema

import "testing"

const appSchema = `
type: object
properties:
  metadata: {type: object, properties: {name: {type: string, maxLength: 8}}}
  spec:
    type: object
    required: [image]
    properties:
      image: {type: string, pattern: "^[a-z]+$"}
      replicas: {type: integer, minimum: 1, maximum: 10}
      mode: {type: string, enum: [Fast, Slow]}
      ratio: {type: number, multipleOf: 0.5}
      tags: {type: array, maxItems: 2, x-kubernetes-list-type: set, items: {type: string}}
      ports:
        type: array
        x-kubernetes-list-type: map
        x-kubernetes-list-map-keys: [name, protocol]
        items:
          type: object
          required: [name, protocol]
          properties: {name: {type: string}, protocol: {type: string}, port: {type: integer}}
      port: {x-kubernetes-int-or-string: true}
      template:
        type: object
        x-kubernetes-embedded-resource: true
        x-kubernetes-preserve-unknown-fields: true
`

func TestValidate(t *testing.T) {
	s := structuralOf(t, appSchema)
	tests := []struct {
		name string
		obj  string
		want []string
	}{
		{"valid", `{"apiVersion":"x.io/v1","kind":"App","metadata":{"name":"a"},"spec":{"image":"nginx","replicas":3,"mode":"Fast","ratio":1.5,"port":"http",
			"tags":["a","b"],"ports":[{"name":"a","protocol":"TCP"},{"name":"a","protocol":"UDP"}],"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}}}`, nil},
		{"bounds, enum, pattern, multipleOf", `{"spec":{"image":"Nginx","replicas":20,"mode":"Medium","ratio":0.7}}`, []string{
			`spec.image: Invalid value: "Nginx": spec.image in body should match '^[a-z]+$'`,
			`spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"`,
			`spec.ratio: Invalid value: 0.7: spec.ratio in body should be a multiple of 0.5`,
			`spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10`,
		}},
		{"minimum and required", `{"spec":{"replicas":0}}`, []string{
			`spec.image: Required value`,
			`spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1`,
		}},
		{"wrong types", `{"spec":{"image":5,"replicas":"three","port":1.5}}`, []string{
			`spec.image: Invalid value: "integer": spec.image in body must be of type string: "integer"`,
			`spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"`,
			`spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`,
		}},
		{"too many items, duplicates in set and map lists", `{"spec":{"image":"a","tags":["a","b","a"],
			"ports":[{"name":"a","protocol":"TCP","port":1},{"name":"a","protocol":"TCP","port":2}]}}`, []string{
			`spec.ports[1]: Duplicate value: {"name":"a","protocol":"TCP"}`,
			`spec.tags: Too many: 3: must have at most 2 items`,
			`spec.tags[2]: Duplicate value: "a"`,
		}},
		{"embedded resource without apiVersion and kind", `{"spec":{"image":"a","template":{"metadata":{"name":"UPPER"}}}}`, []string{
			`spec.template.apiVersion: Required value`,
			`spec.template.kind: Required value`,
		}},
		{"embedded resource with bad kind and labels", `{"spec":{"image":"a","template":{"apiVersion":"v1","kind":"my_kind","metadata":{"labels":{"a":"-"}}}}}`, []string{
			`spec.template.kind: Invalid value: "my_kind": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
			`spec.template.metadata.labels: Invalid value: "-": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
		}},
		{"root metadata name restricted by the schema", `{"metadata":{"name":"much-too-long"},"spec":{"image":"a"}}`, []string{
			`metadata.name: Too long: may not be more than 8 bytes`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectMessages(t, s.Validate(objectOf(t, tt.obj), nil), tt.want...)
		})
	}
}

func TestValidateListsOnUpdate(t *testing.T) {
	s := structuralOf(t, appSchema)
	dup := objectOf(t, `{"spec":{"image":"a","tags":["a","a"]}}`)
	// As Kubernetes: duplicates already in the old object are not reported.
	if errs := s.Validate(dup, objectOf(t, `{"spec":{"image":"a","tags":["b","b"]}}`)); len(errs) != 0 {
		t.Errorf("got %v, want no errors", errs)
	}
	expectMessages(t, s.Validate(dup, objectOf(t, `{"spec":{"image":"a","tags":["b"]}}`)), `spec.tags[1]: Duplicate value: "a"`)
}
