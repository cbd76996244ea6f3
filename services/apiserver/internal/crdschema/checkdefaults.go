package crdschema

import (
	"reflect"
	"skiff.dev/services/apiserver/internal/jsonvalue"

	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"

	"skiff.dev/services/apiserver/internal/field"
)

// checkDefaults reports defaults that would not survive pruning or that
// fail their own schema (value validations, embedded-resource rules, CEL
// rules), as Kubernetes checks them. It walks properties and items, not
// additionalProperties, as Kubernetes does.
func checkDefaults(path *field.Path, root *node) field.ErrorList {
	r := *root
	r.embedded = true // the root is a resource
	return defaultErrors(path, &r, false)
}

func defaultErrors(path *field.Path, n *node, inMeta bool) field.ErrorList {
	if n == nil {
		return nil
	}
	if n.embedded {
		inMeta = false
	}
	var errs field.ErrorList
	if n.hasDefault {
		errs = append(errs, checkDefault(path.Child("default"), n, inMeta)...)
	}
	errs = append(errs, defaultErrors(path.Child("items"), n.items, inMeta)...)
	for _, k := range sortedKeys(n.properties) {
		errs = append(errs, defaultErrors(path.Child("properties").Key(k), n.properties[k], inMeta || (n.embedded && resourceFields[k]))...)
	}
	return errs
}

// checkDefault checks one default: not pruned, then embedded-resource
// rules, then value validations, then CEL rules; the first stage that
// fails gives the errors.
func checkDefault(p *field.Path, n *node, inMeta bool) field.ErrorList {
	def := n.def
	if !inMeta {
		pruned := jsonvalue.Copy(def)
		(&pruner{}).prune(pruned, n)
		if !reflect.DeepEqual(pruned, def) {
			return field.ErrorList{field.Invalid(p, badValue(def), "must not have unknown fields")}
		}
		if errs := validateEmbedded(p, def, n); len(errs) > 0 {
			return errs
		}
	}
	v := validate.NewSchemaValidator(toSpec(n.props), nil, "", strfmt.Default)
	if errs := resultErrors(p, v.Validate(def)); len(errs) > 0 {
		return errs
	}
	if !n.hasRules() {
		return nil
	}
	// As Kubernetes: transition rules see the default as old and new
	// value, then the rules run again as on create.
	if errs := validateRules(p, n, def, def, n.embedded); len(errs) > 0 {
		return errs
	}
	return validateRules(p, n, def, nil, n.embedded)
}
