package crdschema

import "testing"

const ruleSchema = `
type: object
properties:
  spec:
    type: object
    x-kubernetes-validations:
    - rule: self.replicas <= self.maxReplicas
    - rule: self.name.startsWith('a')
      message: name must start with an a
    - rule: size(self.items) < 3
      messageExpression: "'too many items: ' + string(size(self.items))"
      reason: FieldValueForbidden
      fieldPath: .items
    - rule: "!has(self.legacy)"
      reason: FieldValueRequired
      message: legacy is gone
    - rule: self.labels.all(k, k.size() < 5)
    - rule: "self.ratio > 0.5 || self.port == 'http' || self.port == 80"
    - rule: self.replicas == oldSelf.replicas
      message: replicas are immutable
    - rule: "oldSelf.hasValue() ? oldSelf.value().name == self.name : self.name != 'new'"
      optionalOldSelf: true
      message: name is fixed once set
    properties:
      name: {type: string}
      replicas: {type: integer}
      maxReplicas: {type: integer}
      ratio: {type: number}
      port: {x-kubernetes-int-or-string: true}
      legacy: {type: string}
      items: {type: array, items: {type: string}}
      labels: {type: object, additionalProperties: {type: string}}
      children:
        type: array
        x-kubernetes-list-type: map
        x-kubernetes-list-map-keys: [name]
        items:
          type: object
          required: [name]
          x-kubernetes-validations: [{rule: self.size == oldSelf.size, message: size is immutable}]
          properties: {name: {type: string}, size: {type: integer}}
`

func TestRules(t *testing.T) {
	s := structuralOf(t, ruleSchema)
	tests := []struct {
		name, obj, old string
		want           []string
	}{
		{"accepted", `{"spec":{"name":"abc","replicas":2,"maxReplicas":3,"ratio":1,"items":[],"labels":{"a":"b"},"port":80}}`, "", nil},
		{"rejected, with message, messageExpression, fieldPath and reason", `{"spec":{"name":"bcd","replicas":4,"maxReplicas":3,"ratio":0.1,"port":8080,
			"items":["a","b","c"],"legacy":"x","labels":{"toolong":"x"}}}`, "", []string{
			`spec.items: Forbidden: too many items: 3`,
			`spec: Invalid value: "object": failed rule: self.labels.all(k, k.size() < 5)`,
			`spec: Invalid value: "object": failed rule: self.ratio > 0.5 || self.port == 'http' || self.port == 80`,
			`spec: Invalid value: "object": failed rule: self.replicas <= self.maxReplicas`,
			`spec: Invalid value: "object": name must start with an a`,
			`spec: Required value: legacy is gone`,
		}},
		{"optionalOldSelf runs on create", `{"spec":{"name":"new","replicas":1,"maxReplicas":1,"ratio":1,"items":[],"labels":{}}}`, "", []string{
			`spec: Invalid value: "object": name must start with an a`,
			`spec: Invalid value: "object": name is fixed once set`,
		}},
		{"transition rules on update", `{"spec":{"name":"abc","replicas":2,"maxReplicas":3,"ratio":1,"items":[],"labels":{},
			"children":[{"name":"x","size":2},{"name":"y","size":1}]}}`,
			`{"spec":{"name":"abd","replicas":1,"maxReplicas":3,"ratio":1,"items":[],"labels":{},"children":[{"name":"x","size":1}]}}`, []string{
				`spec: Invalid value: "object": name is fixed once set`,
				`spec: Invalid value: "object": replicas are immutable`,
				`spec.children[0]: Invalid value: "object": size is immutable`,
			}},
		{"runtime error", `{"spec":{"name":"abc","replicas":1,"maxReplicas":1,"ratio":1,"labels":{}}}`, "", []string{
			`spec: Invalid value: "object": no such key: items evaluating rule: size(self.items) < 3`,
		}},
		{"rules skipped after blocking errors", `{"spec":{"name":5}}`, "", []string{
			`spec.name: Invalid value: "integer": spec.name in body must be of type string: "integer"`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectMessages(t, s.Validate(objectOf(t, tt.obj), objectOf(t, tt.old)), tt.want...)
		})
	}
}

func TestRootRulesSeeTypeMeta(t *testing.T) {
	s := structuralOf(t, `
type: object
x-kubernetes-validations:
- rule: self.metadata.name.startsWith('web-') && self.kind == 'App'
  message: apps are named web-*
properties:
  spec: {type: object, properties: {when: {type: string, format: date-time}, every: {type: string, format: duration}}, x-kubernetes-validations: [{rule: "self.every < duration('1h') && self.when > timestamp('2020-01-01T00:00:00Z')"}]}
`)
	expectMessages(t, s.Validate(objectOf(t, `{"kind":"App","metadata":{"name":"db-1"},"spec":{"when":"2019-05-01T00:00:00Z","every":"30m"}}`), nil),
		`<nil>: Invalid value: "object": apps are named web-*`,
		`spec: Invalid value: "object": failed rule: self.every < duration('1h') && self.when > timestamp('2020-01-01T00:00:00Z')`)
}
