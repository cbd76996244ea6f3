package crdschema

import (
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
)

// metadataNode is what CEL sees of a resource's metadata.
var metadataNode = &node{typ: "object", properties: map[string]*node{
	"name":         {typ: "string"},
	"generateName": {typ: "string"},
}}

var stringNode = &node{typ: "string"}

// toVal converts a JSON value to the CEL value its schema's type says
// (integer to int, number to double, string formats to bytes, duration or
// timestamp, objects to maps keyed by escaped property names). A value that
// does not fit is a CEL error value, which fails any rule that reads it.
func toVal(x any, n *node, resource bool) ref.Val {
	if x == nil {
		if n.nullable {
			return types.NullValue
		}
		return types.NewErr("invalid data, got null for schema with nullable=false")
	}
	if n.intOrString {
		switch v := x.(type) {
		case string:
			return types.String(v)
		case int64:
			return types.Int(v)
		}
		return types.NewErr("invalid data, expected XIntOrString value to be either a string or integer")
	}
	switch n.typ {
	case "object":
		m, ok := x.(map[string]any)
		if !ok {
			return types.NewErr("invalid data, expected a map for the provided schema with type=object")
		}
		return objectVal(m, n, resource)
	case "array":
		l, ok := x.([]any)
		if !ok {
			return types.NewErr("invalid data, expected an array for the provided schema with type=array")
		}
		if n.items == nil {
			return types.NewErr("invalid array type, expected Items with a non-empty Schema")
		}
		elems := make([]ref.Val, len(l))
		for i, e := range l {
			elems[i] = toVal(e, n.items, n.items.embedded)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, elems)
	case "string":
		s, ok := x.(string)
		if !ok {
			return types.NewErr("invalid data, expected string, got %T", x)
		}
		return stringVal(s, n.props.GetFormat())
	case "number":
		switch v := x.(type) {
		case int64:
			return types.Double(v)
		case float64:
			return types.Double(v)
		}
		return types.NewErr("invalid data, expected float, got %T", x)
	case "integer":
		if v, ok := x.(int64); ok {
			return types.Int(v)
		}
		return types.NewErr("invalid data, expected int, got %T", x)
	case "boolean":
		if v, ok := x.(bool); ok {
			return types.Bool(v)
		}
		return types.NewErr("invalid data, expected bool, got %T", x)
	}
	if n.preserveUnknown {
		return types.DefaultTypeAdapter.NativeToValue(x)
	}
	return types.NewErr("invalid type, expected object, array, number, integer, boolean or string, or no type with x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields is true, got %s", n.typ)
}

func objectVal(m map[string]any, n *node, resource bool) ref.Val {
	out := make(map[ref.Val]ref.Val, len(m))
	for k, v := range m {
		sub, ok := n.properties[k]
		if resource && resourceFields[k] {
			sub, ok = stringNode, true
			if k == "metadata" {
				sub = metadataNode
			}
		}
		switch {
		case ok:
			if esc, escOK := escape(k); escOK {
				out[types.String(esc)] = toVal(v, sub, sub.embedded)
			}
		case n.additional != nil:
			out[types.String(k)] = toVal(v, n.additional, n.additional.embedded)
		case n.preserveUnknown && len(n.properties) == 0:
			out[types.String(k)] = types.DefaultTypeAdapter.NativeToValue(v)
		}
	}
	return types.NewRefValMap(types.DefaultTypeAdapter, out)
}

func stringVal(s, format string) ref.Val {
	switch format {
	case "duration":
		d, err := strfmt.ParseDuration(s)
		if err != nil {
			return types.NewErr("Invalid duration %s: %v", s, err)
		}
		return types.Duration{Duration: d}
	case "date":
		d, err := time.Parse(strfmt.RFC3339FullDate, s)
		if err != nil {
			return types.NewErr("Invalid date formatted string %s: %v", s, err)
		}
		return types.Timestamp{Time: d}
	case "date-time":
		d, err := strfmt.ParseDateTime(s)
		if err != nil {
			return types.NewErr("Invalid date-time formatted string %s: %v", s, err)
		}
		return types.Timestamp{Time: time.Time(d)}
	case "byte":
		var b strfmt.Base64
		if err := b.UnmarshalText([]byte(s)); err != nil {
			return types.NewErr("Invalid byte formatted string %s: %v", s, err)
		}
		return types.Bytes(b)
	}
	return types.String(s)
}
