package crdschema

import "testing"

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   []string
	}{
		{"acceptable", `
type: object
properties:
  spec:
    type: object
    properties:
      replicas: {type: integer, default: 1, minimum: 0}
      port: {x-kubernetes-int-or-string: true, anyOf: [{type: integer}, {type: string}]}
      labels: {type: object, additionalProperties: {type: string}}
      blob: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, nil},
		{"type missing on a field and on items", `
type: object
properties:
  spec: {properties: {a: {type: string}}}
  list: {type: array, items: {}}
  bare: {type: array}
`, []string{
			prefix + ".properties[bare].items: Required value: must be specified",
			prefix + ".properties[list].items.type: Required value: must not be empty for specified array items",
			prefix + ".properties[spec].type: Required value: must not be empty for specified object fields",
		}},
		{"root not an object", `type: string`, []string{
			prefix + `.type: Invalid value: "string": must be object at the root`,
		}},
		{"nullable root", `{type: object, nullable: true}`, []string{
			prefix + ".nullable: Forbidden: nullable cannot be true at the root",
		}},
		{"value validations may not say what a value is", `
type: object
anyOf:
- properties: {b: {minLength: 1}}
properties:
  spec:
    type: object
    properties: {a: {type: string}}
    allOf:
    - properties: {a: {type: string, default: x, description: d}}
    not: {x-kubernetes-preserve-unknown-fields: true, nullable: true}
`, []string{
			prefix + ".properties[spec].allOf[0].properties[a].default: Forbidden: must be undefined to be structural",
			prefix + ".properties[spec].allOf[0].properties[a].description: Forbidden: must be empty to be structural",
			prefix + ".properties[spec].allOf[0].properties[a].type: Forbidden: must be empty to be structural",
			prefix + ".properties[b]: Required value: because it is defined in " + prefix + ".anyOf[0].properties[b]",
			prefix + ".properties[spec].not.nullable: Forbidden: must be false to be structural",
			prefix + ".properties[spec].not.x-kubernetes-preserve-unknown-fields: Forbidden: must be false to be structural",
		}},
		{"additionalProperties with properties, at the root", `
type: object
additionalProperties: {type: string}
properties:
  spec: {type: object, properties: {a: {type: string}}, additionalProperties: {type: string}}
`, []string{
			prefix + ".additionalProperties: Forbidden: must not be used at the root",
			prefix + ".additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
			prefix + ".properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
		}},
		{"preserve-unknown-fields false", `{type: object, x-kubernetes-preserve-unknown-fields: false}`, []string{
			prefix + ".x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined",
		}},
		{"root metadata beyond name and generateName", `
type: object
properties:
  metadata:
    type: object
    properties: {name: {type: string, maxLength: 10}, labels: {type: object}}
`, []string{
			prefix + ".properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
		}},
		{"root metadata restricting the name", `
type: object
properties:
  metadata: {type: object, properties: {name: {type: string, maxLength: 10}}}
`, nil},
		{"forbidden fields", `
type: object
properties:
  a: {type: array, uniqueItems: true, items: {type: string}}
  b: {$ref: "#/definitions/x"}
  c: {type: object, definitions: {x: {type: string}}}
  d: {type: "null"}
`, []string{
			prefix + ".properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
			prefix + ".properties[b].$ref: Forbidden: $ref is not supported",
			prefix + ".properties[c].definitions: Forbidden: definitions is not supported",
			prefix + `.properties[d].type: Forbidden: type cannot be set to null, use nullable as an alternative`,
			prefix + `.properties[d].type: Unsupported value: "null": supported values: "array", "boolean", "integer", "number", "object", "string"`,
		}},
		{"defaults in top-level metadata", `
type: object
properties:
  metadata: {type: object, default: {name: x}}
`, []string{
			prefix + ".properties[metadata].default: Forbidden: must not be set in top-level metadata",
		}},
		{"int-or-string with preserve-unknown-fields", `
type: object
properties:
  port: {x-kubernetes-int-or-string: true, x-kubernetes-preserve-unknown-fields: true}
`, []string{
			prefix + ".properties[port].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true",
		}},
		{"embedded resource misuse", `
type: object
properties:
  a: {type: string, x-kubernetes-embedded-resource: true}
  b: {type: object, x-kubernetes-embedded-resource: true}
`, []string{
			prefix + ".properties[a].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
			prefix + `.properties[a].type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true`,
			prefix + ".properties[b].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
		}},
		{"list types", `
type: object
properties:
  a: {type: string, x-kubernetes-list-type: set}
  b: {type: array, x-kubernetes-list-type: bag, items: {type: string}}
  c: {type: array, x-kubernetes-list-type: map, items: {type: object, properties: {k: {type: string}}}}
  d: {type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [name], items: {type: object, properties: {k: {type: string}}}}
  e: {type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [k], items: {type: object, properties: {k: {type: string}}}}
  f: {type: array, x-kubernetes-list-map-keys: [k], items: {type: object, required: [k], properties: {k: {type: string}}}}
`, []string{
			prefix + ".properties[a].type: Invalid value: \"string\": must be array if x-kubernetes-list-type is specified",
			prefix + `.properties[b].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "set", "map"`,
			prefix + ".properties[c].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
			prefix + `.properties[d].x-kubernetes-list-map-keys: Invalid value: ["name"]: entries must all be names of item properties`,
			prefix + ".properties[e].items.properties[k].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
			prefix + ".properties[f].x-kubernetes-list-type: Required value: must be map if x-kubernetes-list-map-keys is non-empty",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectMessages(t, Check(schemaOf(t, tt.schema), rootPath), tt.want...)
		})
	}
}
