package kjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The apiextensions.k8s.io/v1 messages whose JSON is not the object the
// message describes. Kubernetes gives their Go types their own MarshalJSON
// and UnmarshalJSON; the functions here follow those rules:
//
//   - JSON {raw=1} is the JSON value raw holds, null when raw is empty,
//     written compact and HTML-escaped as encoding/json writes a
//     Marshaler's output.
//   - JSONSchemaPropsOrBool {allows=1, schema=2} is the schema object when
//     there is a schema, else allows as a boolean. An object reads as a
//     schema with allows true; anything but an object or a boolean is an
//     error.
//   - JSONSchemaPropsOrArray {schema=1, jSONSchemas=2} and
//     JSONSchemaPropsOrStringArray {schema=1, property=2} are the list when
//     it has elements, else the schema, else null. An object reads as the
//     schema and an array as the list; any other value reads as neither,
//     without an error.
//
// Kubernetes decodes what lies inside the last three with a fresh,
// lenient decoder, so strict decoding never reports unknown or duplicate
// fields there (items, additionalProperties, additionalItems, the values
// of dependencies); neither does this codec.
const (
	nameJSON                protoreflect.FullName = "skiff.apiextensions.v1.JSON"
	nameSchemaOrBool        protoreflect.FullName = "skiff.apiextensions.v1.JSONSchemaPropsOrBool"
	nameSchemaOrArray       protoreflect.FullName = "skiff.apiextensions.v1.JSONSchemaPropsOrArray"
	nameSchemaOrStringArray protoreflect.FullName = "skiff.apiextensions.v1.JSONSchemaPropsOrStringArray"
)

// Field numbers of the three schema wrappers. OrArray and OrStringArray
// share theirs: the schema is 1 and the list 2.
const (
	orBoolAllows = 1
	orBoolSchema = 2
	orListSchema = 1
	orListList   = 2
)

// appendJSONValue writes raw, a JSON text, compacted and HTML-escaped.
func appendJSONValue(b []byte, raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return append(b, "null"...), nil
	}
	var compact, escaped bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("invalid JSON value: %w", err)
	}
	json.HTMLEscape(&escaped, compact.Bytes())
	return append(b, escaped.Bytes()...), nil
}

func appendSchemaOrBool(b []byte, m protoreflect.Message) ([]byte, error) {
	fields := m.Descriptor().Fields()
	if schema := fields.ByNumber(orBoolSchema); m.Has(schema) {
		return appendMessage(b, m.Get(schema).Message(), false)
	}
	return strconv.AppendBool(b, m.Get(fields.ByNumber(orBoolAllows)).Bool()), nil
}

// appendSchemaOrList writes a JSONSchemaPropsOrArray or a
// JSONSchemaPropsOrStringArray.
func appendSchemaOrList(b []byte, m protoreflect.Message) ([]byte, error) {
	fields := m.Descriptor().Fields()
	if list := fields.ByNumber(orListList); m.Get(list).List().Len() > 0 {
		return appendField(b, fieldPlan{fd: list}, m.Get(list))
	}
	if schema := fields.ByNumber(orListSchema); m.Has(schema) {
		return appendMessage(b, m.Get(schema).Message(), false)
	}
	return append(b, "null"...), nil
}

// lenient is the decoder for what Kubernetes decodes with a decoder of
// its own: the same, but its unknown and duplicate fields go unreported.
func (d *decoder) lenient() *decoder { return &decoder{} }

func (d *decoder) schemaOrBool(raw []byte, m protoreflect.Message, path string) error {
	proto.Reset(m.Interface()) // a duplicate key: the last value alone counts, as in Kubernetes
	fields := m.Descriptor().Fields()
	switch {
	case raw[0] == '{':
		m.Set(fields.ByNumber(orBoolAllows), protoreflect.ValueOfBool(true))
		return d.lenient().message(raw, m.Mutable(fields.ByNumber(orBoolSchema)).Message(), path, false)
	case string(raw) == "true":
		m.Set(fields.ByNumber(orBoolAllows), protoreflect.ValueOfBool(true))
		return nil
	case string(raw) == "false":
		return nil
	}
	return &FieldError{Path: path, Msg: "expected a boolean or a schema object, got " + describe(raw)}
}

// schemaOrList reads a JSONSchemaPropsOrArray or a
// JSONSchemaPropsOrStringArray.
func (d *decoder) schemaOrList(raw []byte, m protoreflect.Message, path string) error {
	proto.Reset(m.Interface())
	fields := m.Descriptor().Fields()
	switch raw[0] {
	case '{':
		return d.lenient().message(raw, m.Mutable(fields.ByNumber(orListSchema)).Message(), path, false)
	case '[':
		return d.lenient().field(raw, m, fieldPlan{fd: fields.ByNumber(orListList)}, path)
	}
	return nil
}
