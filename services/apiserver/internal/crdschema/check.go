package crdschema

import (
	"errors"
	"slices"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// Check reports what makes props unacceptable as a CRD version's schema
// in apiextensions.k8s.io/v1, with paths under fldPath (the caller passes
// spec.versions[i].schema.openAPIV3Schema), in Kubernetes' order: a
// nullable root, then structural violations (sorted), else defaults that
// do not validate or are not pruned, then the schema's own rules
// (forbidden fields, extension misuse), then CEL rules that do not
// compile. A nil props is allowed.
func Check(props *apiextensionsv1.JSONSchemaProps, fldPath *field.Path) field.ErrorList {
	errs, _ := check(props, fldPath)
	return errs
}

// check is Check, also returning the structural tree with its compiled
// rules when props is acceptable.
func check(props *apiextensionsv1.JSONSchemaProps, fldPath *field.Path) (field.ErrorList, *node) {
	if props == nil {
		return nil, nil
	}
	var errs field.ErrorList
	if props.GetNullable() {
		errs = append(errs, field.Forbidden(fldPath.Child("nullable"), "nullable cannot be true at the root"))
	}
	initErr := unsupported(props)
	var root *node
	if initErr == nil {
		if serrs := checkStructure(props, fldPath); len(serrs) > 0 {
			errs = append(errs, serrs...)
		} else if root, initErr = buildNode(props); initErr == nil {
			compileTree(root, true)
			if derrs := checkDefaults(fldPath, root); len(derrs) > 0 {
				errs = append(errs, derrs...)
				root = nil // as Kubernetes: no CEL checks before the defaults are right
			}
		}
	}
	w := &walker{}
	w.walk(props, fldPath, scope{allowDefaults: true}, true, root)
	errs = append(errs, w.schemaErrs...)
	errs = append(errs, w.celErrs...)
	if len(errs) == 0 && initErr != nil {
		errs = append(errs, field.Invalid(fldPath, "", initErr.Error()))
	}
	if len(errs) > 0 {
		return errs, nil
	}
	return nil, root
}

// unsupported is what keeps Kubernetes from building a structural schema
// at all; these also have their own errors but for $schema.
func unsupported(p *apiextensionsv1.JSONSchemaProps) error {
	if p == nil {
		return nil
	}
	switch {
	case p.GetId() != "":
		return errors.New("OpenAPIV3Schema 'id' is not supported")
	case p.GetSchema() != "":
		return errors.New("OpenAPIV3Schema 'schema' is not supported")
	case p.GetRef() != "":
		return errors.New("OpenAPIV3Schema '$ref' is not supported")
	case len(p.GetPatternProperties()) > 0:
		return errors.New("OpenAPIV3Schema 'patternProperties' is not supported")
	case len(p.GetDependencies()) > 0:
		return errors.New("OpenAPIV3Schema 'dependencies' is not supported")
	case p.GetAdditionalItems() != nil:
		return errors.New("OpenAPIV3Schema 'additionalItems' is not supported")
	case len(p.GetDefinitions()) > 0:
		return errors.New("OpenAPIV3Schema 'definitions' is not supported")
	case len(p.GetItems().GetJsonSchemas()) > 0:
		return errors.New("OpenAPIV3Schema 'items' must be a schema, but is an array")
	case p.XKubernetesPreserveUnknownFields != nil && !p.GetXKubernetesPreserveUnknownFields():
		return errors.New("internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined")
	}
	for _, sub := range subSchemas(p) {
		if err := unsupported(sub); err != nil {
			return err
		}
	}
	return nil
}

// subSchemas are the schemas directly inside p that Kubernetes converts.
func subSchemas(p *apiextensionsv1.JSONSchemaProps) []*apiextensionsv1.JSONSchemaProps {
	out := []*apiextensionsv1.JSONSchemaProps{p.GetItems().GetSchema(), p.GetNot(), p.GetAdditionalProperties().GetSchema()}
	out = append(out, p.GetAllOf()...)
	out = append(out, p.GetAnyOf()...)
	out = append(out, p.GetOneOf()...)
	for _, k := range sortedKeys(p.GetProperties()) {
		out = append(out, p.GetProperties()[k])
	}
	return slices.DeleteFunc(out, func(s *apiextensionsv1.JSONSchemaProps) bool { return s == nil })
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
