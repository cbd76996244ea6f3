package crdschema

import (
	"encoding/json"
	"strings"

	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/validate"

	"skiff.dev/services/apiserver/internal/field"
)

// Validate checks obj, a whole custom resource, against the schema: the
// OpenAPI value validations, embedded resources, x-kubernetes-list-type set
// and map uniqueness, then the x-kubernetes-validations rules. old is the
// object being updated, nil on create; rules using oldSelf run only on
// update and where the old value exists. The errors are in Kubernetes'
// order: schema, embedded resources, lists, rules (which are skipped, with
// one error saying so, when the object already has an error of a kind
// Kubernetes deems blocking). The root metadata is left to the registry
// except for what the schema itself says about name and generateName.
func (s *Structural) Validate(obj, old map[string]any) field.ErrorList {
	var errs field.ErrorList
	if s.validator != nil {
		errs = append(errs, resultErrors(nil, s.validator.Validate(obj))...)
	}
	errs = append(errs, validateEmbedded(nil, obj, s.root)...)
	if old == nil || len(validateLists(nil, s.root, old)) == 0 {
		errs = append(errs, validateLists(nil, s.root, obj)...)
	}
	if !s.root.hasRules() {
		return errs
	}
	if blocking(errs) {
		return append(errs, field.Invalid(nil, rawJSON("null"),
			"some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"))
	}
	var oldValue any
	if old != nil {
		oldValue = old
	}
	return append(errs, validateRules(nil, s.root, obj, oldValue, true)...)
}

// blocking reports errors after which Kubernetes does not run CEL rules:
// their values would not have the types the rules were compiled for.
func blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong,
			field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

// resultErrors converts kube-openapi's result to field errors the way
// apiextensions-apiserver does; a value's name in the result ("spec.x") is
// its path under base.
func resultErrors(base *field.Path, result *validate.Result) field.ErrorList {
	if result == nil || result.IsValid() {
		return nil
	}
	var errs field.ErrorList
	for _, err := range result.Errors {
		v, ok := err.(*openapierrors.Validation)
		if !ok {
			errs = append(errs, field.Invalid(base, "", err.Error()))
			continue
		}
		p := base
		if v.Name != "" && v.Name != "." {
			p = base.Child(strings.TrimPrefix(v.Name, "."))
		}
		errs = append(errs, validationError(p, v))
	}
	return errs
}

func validationError(p *field.Path, v *openapierrors.Validation) *field.Error {
	value := v.Value
	if value == nil {
		value = ""
	}
	switch v.Code() {
	case openapierrors.RequiredFailCode:
		return field.Required(p, "")
	case openapierrors.EnumFailCode:
		var allowed []string
		for _, a := range v.Values {
			if s, ok := a.(string); ok {
				allowed = append(allowed, s)
				continue
			}
			b, _ := json.Marshal(a)
			allowed = append(allowed, string(b))
		}
		return field.NotSupported(p, badValue(v.Value), allowed)
	case openapierrors.TooLongFailCode:
		return field.TooLong(p, int(int64Or(v.Valid, -1)))
	case openapierrors.MaxItemsFailCode, openapierrors.TooManyPropertiesCode:
		return field.TooMany(p, int(int64Or(v.Value, -1)), int(int64Or(v.Valid, -1)))
	case openapierrors.InvalidTypeCode:
		return field.TypeInvalid(p, badValue(value), v.Error())
	default:
		return field.Invalid(p, badValue(value), v.Error())
	}
}

func int64Or(v any, otherwise int64) int64 {
	if i, ok := v.(int64); ok {
		return i
	}
	return otherwise
}
