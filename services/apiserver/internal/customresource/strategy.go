package customresource

import (
	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
)

// Schema is one version's structural schema at work on objects.
type Schema interface {
	// Prune removes undeclared fields, returning their paths.
	Prune(obj map[string]any) []string
	// Default fills in the schema's defaults.
	Default(obj map[string]any)
	// Validate checks obj (against old on an update; nil on a create).
	Validate(obj, old map[string]any) field.ErrorList
	// OpenAPI is the schema as published in /openapi/v3.
	OpenAPI() map[string]any
}

// NewSchema builds a version's Schema from the CRD.
type NewSchema func(props *apiextensionsv1.JSONSchemaProps) (Schema, error)

// strategy gives one served version its rules: the schema prunes,
// defaults and validates; selectable fields become field-selector
// attributes.
func strategy(schema Schema, splitStatus bool, selectable []string) registry.Strategy {
	st := registry.Strategy{
		Prune: func(obj proto.Message) []string {
			var pruned []string
			edit(obj, splitStatus, func(m map[string]any) { pruned = schema.Prune(m) })
			return pruned
		},
		Default: func(obj proto.Message) {
			edit(obj, splitStatus, schema.Default)
		},
		ValidateCreate: func(obj proto.Message) field.ErrorList {
			return validate(schema, obj, nil)
		},
		ValidateUpdate: func(obj, old proto.Message) field.ErrorList {
			return validate(schema, obj, old)
		},
	}
	if len(selectable) > 0 {
		st.FieldSet = func(obj proto.Message) map[string]string {
			m, err := unstructured(obj.(*apiextensionsv1.CustomObject))
			if err != nil {
				return nil
			}
			set := make(map[string]string, len(selectable))
			for _, path := range selectable {
				set[path[1:]] = selectableValue(m, path)
			}
			return set
		}
	}
	return st
}

// edit runs f on obj's unstructured form and stores the result. An object
// whose content cannot be read is left alone: validation reports it.
func edit(obj proto.Message, splitStatus bool, f func(map[string]any)) {
	co := obj.(*apiextensionsv1.CustomObject)
	m, err := unstructured(co)
	if err != nil {
		return
	}
	f(m)
	_ = store(co, m, splitStatus) // maps of decoded JSON always encode
}

func validate(schema Schema, obj, old proto.Message) field.ErrorList {
	m, err := unstructured(obj.(*apiextensionsv1.CustomObject))
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("<root>"), "", err.Error())}
	}
	var o map[string]any
	if old != nil {
		if o, err = unstructured(old.(*apiextensionsv1.CustomObject)); err != nil {
			o = nil
		}
	}
	return schema.Validate(m, o)
}
