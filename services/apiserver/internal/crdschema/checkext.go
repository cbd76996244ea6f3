package crdschema

import (
	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// checkExtensions reports misuse of x-kubernetes-preserve-unknown-fields,
// -map-type, -list-type and -list-map-keys on one schema.
func checkExtensions(p *apiextensionsv1.JSONSchemaProps, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.XKubernetesPreserveUnknownFields != nil && !p.GetXKubernetesPreserveUnknownFields() {
		errs = append(errs, field.Invalid(path.Child("x-kubernetes-preserve-unknown-fields"), false, "must be true or undefined"))
	}
	if p.XKubernetesMapType != nil {
		errs = append(errs, typeMustBe(p, path, "object", "x-kubernetes-map-type is specified")...)
		if mt := p.GetXKubernetesMapType(); mt != "atomic" && mt != "granular" {
			errs = append(errs, field.NotSupported(path.Child("x-kubernetes-map-type"), mt, []string{"atomic", "granular"}))
		}
	}
	lt, hasListType := p.GetXKubernetesListType(), p.XKubernetesListType != nil
	items := p.GetItems().GetSchema()
	if hasListType && p.GetType() != "array" {
		errs = append(errs, typeMustBe(p, path, "array", "x-kubernetes-list-type is specified")...)
	} else if lt == "set" && items != nil {
		switch items.GetType() {
		case "array":
			if items.XKubernetesListType != nil && items.GetXKubernetesListType() != "atomic" {
				errs = append(errs, field.Invalid(path.Child("items").Child("x-kubernetes-list-type"), items.GetXKubernetesListType(), "must be atomic as item of a list with x-kubernetes-list-type=set"))
			}
		case "object":
			if items.GetXKubernetesMapType() != "atomic" {
				// Kubernetes shows the items' list type here, not their map type.
				errs = append(errs, field.Invalid(path.Child("items").Child("x-kubernetes-map-type"), optionalString(items.XKubernetesListType), "must be atomic as item of a list with x-kubernetes-list-type=set"))
			}
		}
	}
	if hasListType && lt != "atomic" && lt != "set" && lt != "map" {
		errs = append(errs, field.NotSupported(path.Child("x-kubernetes-list-type"), lt, []string{"atomic", "set", "map"}))
	}
	keys := p.GetXKubernetesListMapKeys()
	if len(keys) > 0 {
		if !hasListType {
			errs = append(errs, field.Required(path.Child("x-kubernetes-list-type"), "must be map if x-kubernetes-list-map-keys is non-empty"))
		} else if lt != "map" {
			errs = append(errs, field.Invalid(path.Child("x-kubernetes-list-type"), lt, "must be map if x-kubernetes-list-map-keys is non-empty"))
		}
	}
	if lt == "map" {
		errs = append(errs, checkListMap(p, path)...)
	}
	return append(errs, checkListItemsNullable(p, path)...)
}

func typeMustBe(p *apiextensionsv1.JSONSchemaProps, path *field.Path, want, why string) field.ErrorList {
	if p.GetType() == "" {
		return field.ErrorList{field.Required(path.Child("type"), "must be "+want+" if "+why)}
	}
	return field.ErrorList{field.Invalid(path.Child("type"), p.GetType(), "must be "+want+" if "+why)}
}

func checkListMap(p *apiextensionsv1.JSONSchemaProps, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	keys := p.GetXKubernetesListMapKeys()
	if len(keys) == 0 {
		errs = append(errs, field.Required(path.Child("x-kubernetes-list-map-keys"), "must not be empty if x-kubernetes-list-type is map"))
	}
	items := p.GetItems()
	switch {
	case items == nil:
		return append(errs, field.Required(path.Child("items"), "must have a schema if x-kubernetes-list-type is map"))
	case items.GetSchema() == nil:
		return append(errs, field.Invalid(path.Child("items"), rawJSON("{}"), "must only have a single schema if x-kubernetes-list-type is map"))
	case items.GetSchema().GetType() != "object":
		return append(errs, field.Invalid(path.Child("items").Child("type"), items.GetSchema().GetType(), "must be object if parent array's x-kubernetes-list-type is map"))
	}
	item := items.GetSchema()
	seen := map[string]bool{}
	for _, k := range keys {
		if s, ok := item.GetProperties()[k]; !ok {
			errs = append(errs, field.Invalid(path.Child("x-kubernetes-list-map-keys"), badValue(keys), "entries must all be names of item properties"))
		} else if s.GetType() == "array" || s.GetType() == "object" {
			// Kubernetes shows the item's type here, not the key's.
			errs = append(errs, field.Invalid(path.Child("items").Child("properties").Key(k).Child("type"), item.GetType(), "must be a scalar type if parent array's x-kubernetes-list-type is map"))
		}
		if seen[k] {
			errs = append(errs, field.Invalid(path.Child("x-kubernetes-list-map-keys"), badValue(keys), "must not contain duplicate entries"))
		}
		seen[k] = true
	}
	return errs
}

// checkListItemsNullable: set and map list items may not be null, and map
// keys must be required or defaulted, and not nullable.
func checkListItemsNullable(p *apiextensionsv1.JSONSchemaProps, path *field.Path) field.ErrorList {
	item := p.GetItems().GetSchema()
	lt := p.GetXKubernetesListType()
	if item == nil || (lt != "set" && lt != "map") {
		return nil
	}
	var errs field.ErrorList
	if item.GetNullable() {
		errs = append(errs, field.Forbidden(path.Child("items").Child("nullable"), "cannot be nullable when x-kubernetes-list-type is "+lt))
	}
	if lt != "map" {
		return errs
	}
	required := map[string]bool{}
	for _, r := range item.GetRequired() {
		required[r] = true
	}
	for _, k := range p.GetXKubernetesListMapKeys() {
		prop, ok := item.GetProperties()[k]
		if !ok {
			continue
		}
		kp := path.Child("items").Child("properties").Key(k)
		if !required[k] && prop.GetDefault() == nil {
			errs = append(errs, field.Required(kp.Child("default"), "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"))
		}
		if prop.GetNullable() {
			errs = append(errs, field.Forbidden(kp.Child("nullable"), "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"))
		}
	}
	return errs
}

func optionalString(s *string) any {
	if s == nil {
		return rawJSON("null")
	}
	return *s
}
