package validation

import (
	"fmt"
	"slices"
	"strings"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// rootFieldsWithStatus are the only schema fields allowed at the root when
// the status subresource is on (so that the status part of the schema
// says all there is about status), named as Kubernetes' message names
// them.
var rootFieldsWithStatus = []string{"Description", "Type", "Format", "Title", "Maximum", "ExclusiveMaximum", "Minimum",
	"ExclusiveMinimum", "MaxLength", "MinLength", "Pattern", "MaxItems", "MinItems", "UniqueItems", "MultipleOf", "Required",
	"Items", "Properties", "ExternalDocs", "Example", "XPreserveUnknownFields", "XValidations"}

var (
	columnTypes   = []string{"boolean", "date", "integer", "number", "string"}
	columnFormats = []string{"byte", "date", "date-time", "double", "float", "int32", "int64", "password"}
)

// schemaRoot checks what a definition asks of its schema's root, then
// hands the schema to check. v is at p (….schema or spec.validation).
func schemaRoot(v *apiextensionsv1.CustomResourceValidation, statusEnabled bool, p *field.Path, check SchemaCheck) field.ErrorList {
	s := v.GetOpenApiV3Schema()
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	if statusEnabled {
		// Kubernetes looks at the root's fields in the order of its
		// internal type and stops at the first one it refuses.
		switch {
		case s.Id != "" || s.Schema != "" || s.Ref != nil:
			errs = append(errs, rootFieldsError(p))
		case s.Type != "" && s.Type != "object":
			errs = append(errs, field.Invalid(p.Child("openAPIV3Schema.type"), s.Type,
				`only "object" is allowed as the type at the root of the schema if the status subresource is enabled`))
		case refusedAtRoot(s):
			errs = append(errs, rootFieldsError(p))
		}
	}
	if s.Nullable {
		errs = append(errs, field.Forbidden(p.Child("openAPIV3Schema.nullable"), "nullable cannot be true at the root"))
	}
	if check != nil {
		errs = append(errs, check(s, p.Child("openAPIV3Schema"))...)
	}
	return errs
}

// rootFieldsError: Kubernetes shows the whole root schema as the value,
// in its internal form; it is left out.
func rootFieldsError(p *field.Path) *field.Error {
	return field.Invalid(p.Child("openAPIV3Schema"), nil,
		fmt.Sprintf("only %v fields are allowed at the root of the schema if the status subresource is enabled", rootFieldsWithStatus))
}

// refusedAtRoot: a field outside rootFieldsWithStatus is set (id, $schema
// and $ref are checked before the type).
func refusedAtRoot(s *apiextensionsv1.JSONSchemaProps) bool {
	return s.Nullable || s.Default != nil || len(s.Enum) > 0 || s.MaxProperties != nil || s.MinProperties != nil ||
		len(s.AllOf) > 0 || len(s.OneOf) > 0 || len(s.AnyOf) > 0 || s.Not != nil ||
		s.AdditionalProperties != nil || len(s.PatternProperties) > 0 || len(s.Dependencies) > 0 ||
		s.AdditionalItems != nil || len(s.Definitions) > 0 ||
		s.XKubernetesEmbeddedResource || s.XKubernetesIntOrString || len(s.XKubernetesListMapKeys) > 0 ||
		s.XKubernetesListType != nil || s.XKubernetesMapType != nil
}

func subresources(sr *apiextensionsv1.CustomResourceSubresources, p *field.Path) field.ErrorList {
	sc := sr.GetScale()
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	replicas := []struct{ name, path, under string }{
		{"scale.specReplicasPath", sc.GetSpecReplicasPath(), ".spec"},
		{"scale.statusReplicasPath", sc.GetStatusReplicasPath(), ".status"},
	}
	for _, r := range replicas {
		rp := p.Child(r.name)
		switch {
		case r.path == "":
			errs = append(errs, field.Required(rp, ""))
		case !strings.HasPrefix(r.path, "."):
			errs = append(errs, notSimpleJSONPath(rp, r.path))
		case !strings.HasPrefix(r.path, r.under+"."):
			errs = append(errs, field.Invalid(rp, r.path, "should be a json path under "+r.under))
		}
	}
	if sel := sc.GetLabelSelectorPath(); sel != "" {
		lp := p.Child("scale.labelSelectorPath")
		switch {
		case !strings.HasPrefix(sel, "."):
			errs = append(errs, notSimpleJSONPath(lp, sel))
		case !strings.HasPrefix(sel, ".spec.") && !strings.HasPrefix(sel, ".status."):
			errs = append(errs, field.Invalid(lp, jsonValue{sel}, "should be a json path under either .spec or .status"))
		}
	}
	return errs
}

func notSimpleJSONPath(p *field.Path, path string) *field.Error {
	return field.Invalid(p, path, "must be a simple json path starting with .")
}

// columns checks printer columns; Kubernetes' internal form spells the
// path field JSONPath, and so do its errors.
func columns(cols []*apiextensionsv1.CustomResourceColumnDefinition, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	typesMsg := "must be one of " + strings.Join(columnTypes, ",")
	for i, c := range cols {
		cp := p.Index(i)
		if c.GetName() == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		}
		switch t := c.GetType(); {
		case t == "":
			errs = append(errs, field.Required(cp.Child("type"), typesMsg))
		case !slices.Contains(columnTypes, t):
			errs = append(errs, field.Invalid(cp.Child("type"), t, typesMsg))
		}
		if f := c.GetFormat(); f != "" && !slices.Contains(columnFormats, f) {
			errs = append(errs, field.Invalid(cp.Child("format"), f, "must be one of "+strings.Join(columnFormats, ",")))
		}
		switch jp := c.GetJsonPath(); {
		case jp == "":
			errs = append(errs, field.Required(cp.Child("JSONPath"), ""))
		case !strings.HasPrefix(jp, "."):
			errs = append(errs, notSimpleJSONPath(cp.Child("JSONPath"), jp))
		}
	}
	return errs
}
