package crdschema

import "testing"

func TestCheckDefaultsAndRules(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   []string
	}{
		{"default over its maximum", `
type: object
properties:
  spec: {type: object, properties: {replicas: {type: integer, maximum: 10, default: 20}}}
`, []string{
			prefix + ".properties[spec].properties[replicas].default: Invalid value: 20:  in body should be less than or equal to 10",
		}},
		{"default with unknown fields", `
type: object
properties:
  spec: {type: object, default: {a: x, b: 1}, properties: {a: {type: string}}}
`, []string{
			prefix + `.properties[spec].default: Invalid value: {"a":"x","b":1}: must not have unknown fields`,
		}},
		{"default failing a rule", `
type: object
properties:
  spec:
    type: object
    default: {min: 3, max: 1}
    x-kubernetes-validations: [{rule: self.min <= self.max, message: min must not exceed max}]
    properties: {min: {type: integer}, max: {type: integer}}
`, []string{
			prefix + `.properties[spec].default: Invalid value: "object": min must not exceed max`,
		}},
		{"rules that do not compile", `
type: object
properties:
  spec:
    type: object
    x-kubernetes-validations:
    - rule: self.foo > 0
    - rule: self.name
    - rule: self.name.startsWith('a')
      messageExpression: "1"
    properties: {name: {type: string}}
`, []string{
			prefix + `.properties[spec].x-kubernetes-validations[0].rule: Invalid value: {"Rule":"self.foo \u003e 0","Message":"","MessageExpression":"","Reason":null,"FieldPath":"","OptionalOldSelf":null}: compilation failed: ERROR: <input>:1:5: undefined field 'foo'
 | self.foo > 0
 | ....^`,
			prefix + `.properties[spec].x-kubernetes-validations[1].rule: Invalid value: {"Rule":"self.name","Message":"","MessageExpression":"","Reason":null,"FieldPath":"","OptionalOldSelf":null}: cel expression must evaluate to a bool`,
			prefix + `.properties[spec].x-kubernetes-validations[2].messageExpression: Invalid value: {"Rule":"self.name.startsWith('a')","Message":"","MessageExpression":"1","Reason":null,"FieldPath":"","OptionalOldSelf":null}: messageExpression must evaluate to a string`,
		}},
		{"rule fields", `
type: object
x-kubernetes-validations:
- rule: " "
- rule: self.a == 1
  reason: Bad
  fieldPath: .b
- rule: |
    self.a ==
    1
properties: {a: {type: integer}}
`, []string{
			prefix + ".x-kubernetes-validations[0].rule: Required value: rule is not specified",
			prefix + `.x-kubernetes-validations[1].fieldPath: Invalid value: ".b": must be a valid path`,
			prefix + `.x-kubernetes-validations[1].reason: Unsupported value: "Bad": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"`,
			prefix + ".x-kubernetes-validations[2].message: Required value: message must be specified if rule contains line breaks",
		}},
		{"oldSelf inside an atomic list", `
type: object
properties:
  list:
    type: array
    items:
      type: object
      x-kubernetes-validations: [{rule: self.x == oldSelf.x}]
      properties: {x: {type: string}}
`, []string{
			prefix + `.properties[list].items.x-kubernetes-validations[0].rule: Invalid value: "self.x == oldSelf.x": oldSelf cannot be used on the uncorrelatable portion of the schema within ` + prefix + ".properties[list]",
		}},
		{"optionalOldSelf without oldSelf", `
type: object
x-kubernetes-validations: [{rule: "self.a > 0", optionalOldSelf: true}]
properties: {a: {type: integer}}
`, []string{
			prefix + ".x-kubernetes-validations[0].optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule",
		}},
		{"rules on a map list, escaped names and metadata", `
type: object
x-kubernetes-validations: [{rule: "self.metadata.name.startsWith('a') && self.spec.x__dash__name == 'x'"}]
properties:
  spec:
    type: object
    properties:
      x-name: {type: string}
      ports:
        type: array
        x-kubernetes-list-type: map
        x-kubernetes-list-map-keys: [name]
        items:
          type: object
          required: [name]
          x-kubernetes-validations: [{rule: "self.port == oldSelf.port"}]
          properties: {name: {type: string}, port: {type: integer}}
`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectMessages(t, Check(schemaOf(t, tt.schema), rootPath), tt.want...)
		})
	}
}

func TestNewRejectsWhatCheckRejects(t *testing.T) {
	_, err := New(schemaOf(t, `{type: string}`))
	want := `build structural schema: openAPIV3Schema.type: Invalid value: "string": must be object at the root`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
