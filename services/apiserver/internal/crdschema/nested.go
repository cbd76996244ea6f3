package crdschema

import (
	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// nested checks a schema under allOf/anyOf/oneOf/not: it may restrict
// values, but not say what the value is (type, defaults, extensions) or
// mention metadata.
func nested(p *apiextensionsv1.JSONSchemaProps, skipAnyOf bool, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := valueValidation(p, skipAnyOf, false, path)
	errs = append(errs, nested(p.GetItems().GetSchema(), false, path.Child("items"))...)
	for _, k := range sortedKeys(p.GetProperties()) {
		errs = append(errs, nested(p.GetProperties()[k], false, path.Child("properties").Key(k))...)
	}
	forbid := func(name, detail string) {
		errs = append(errs, field.Forbidden(path.Child(name), detail))
	}
	if p.GetType() != "" {
		forbid("type", "must be empty to be structural")
	}
	// Kubernetes keeps "additionalProperties: false" out of the nested form.
	if ap := p.GetAdditionalProperties(); ap != nil && (ap.GetAllows() || ap.GetSchema() != nil) {
		forbid("additionalProperties", "must be undefined to be structural")
	}
	if p.GetDefault() != nil && len(p.GetDefault().GetRaw()) > 0 {
		forbid("default", "must be undefined to be structural")
	}
	if p.GetTitle() != "" {
		forbid("title", "must be empty to be structural")
	}
	if p.GetDescription() != "" {
		forbid("description", "must be empty to be structural")
	}
	if p.GetNullable() {
		forbid("nullable", "must be false to be structural")
	}
	if p.GetXKubernetesPreserveUnknownFields() {
		forbid("x-kubernetes-preserve-unknown-fields", "must be false to be structural")
	}
	if p.GetXKubernetesEmbeddedResource() {
		forbid("x-kubernetes-embedded-resource", "must be false to be structural")
	}
	if p.GetXKubernetesIntOrString() {
		forbid("x-kubernetes-int-or-string", "must be false to be structural")
	}
	if len(p.GetXKubernetesListMapKeys()) > 0 {
		forbid("x-kubernetes-list-map-keys", "must be empty to be structural")
	}
	if p.XKubernetesListType != nil {
		forbid("x-kubernetes-list-type", "must be undefined to be structural")
	}
	if p.XKubernetesMapType != nil {
		forbid("x-kubernetes-map-type", "must be undefined to be structural")
	}
	if len(p.GetXKubernetesValidations()) > 0 {
		forbid("x-kubernetes-validations", "must be empty to be structural")
	}
	if _, ok := p.GetProperties()["metadata"]; ok {
		errs = append(errs, field.Forbidden(path.Child("properties").Key("metadata"), "must not be specified in a nested context"))
	}
	return errs
}

// completeness reports value validations (under allOf/anyOf/oneOf/not of v)
// about properties or items that the structural schema s does not have.
func completeness(v, s *apiextensionsv1.JSONSchemaProps, sPath, vPath *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, nestedCompleteness(v.GetNot(), s, sPath, vPath.Child("not"))...)
	for i, sub := range v.GetAllOf() {
		errs = append(errs, nestedCompleteness(sub, s, sPath, vPath.Child("allOf").Index(i))...)
	}
	for i, sub := range v.GetAnyOf() {
		errs = append(errs, nestedCompleteness(sub, s, sPath, vPath.Child("anyOf").Index(i))...)
	}
	for i, sub := range v.GetOneOf() {
		errs = append(errs, nestedCompleteness(sub, s, sPath, vPath.Child("oneOf").Index(i))...)
	}
	return errs
}

func nestedCompleteness(v, s *apiextensionsv1.JSONSchemaProps, sPath, vPath *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if s == nil {
		return field.ErrorList{field.Required(sPath, "because it is defined in "+vPath.String())}
	}
	errs := completeness(v, s, sPath, vPath)
	if it := v.GetItems().GetSchema(); it != nil {
		errs = append(errs, nestedCompleteness(it, s.GetItems().GetSchema(), sPath.Child("items"), vPath.Child("items"))...)
	}
	for _, k := range sortedKeys(v.GetProperties()) {
		kp := vPath.Child("properties").Key(k)
		sub, ok := s.GetProperties()[k]
		if !ok {
			errs = append(errs, field.Required(sPath.Child("properties").Key(k), "because it is defined in "+kp.String()))
			continue
		}
		errs = append(errs, nestedCompleteness(v.GetProperties()[k], sub, sPath.Child("properties").Key(k), kp)...)
	}
	return errs
}
