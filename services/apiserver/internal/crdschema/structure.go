package crdschema

import (
	"fmt"
	"regexp"
	"slices"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// level is where a schema sits in the structural tree.
type level int

const (
	rootLevel level = iota
	itemLevel
	fieldLevel
)

// checkStructure reports what keeps p from being a structural schema,
// sorted by message as Kubernetes sorts them.
func checkStructure(p *apiextensionsv1.JSONSchemaProps, path *field.Path) field.ErrorList {
	errs := structuralInvariants(p, rootLevel, path)
	errs = append(errs, completeness(p, p, path, path)...)
	slices.SortStableFunc(errs, func(a, b *field.Error) int {
		switch x, y := a.Error(), b.Error(); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return errs
}

func structuralInvariants(p *apiextensionsv1.JSONSchemaProps, lvl level, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	if p.GetType() == "array" && p.GetItems() == nil {
		errs = append(errs, field.Required(path.Child("items"), "must be specified"))
	}
	errs = append(errs, structuralInvariants(p.GetItems().GetSchema(), itemLevel, path.Child("items"))...)
	for _, k := range sortedKeys(p.GetProperties()) {
		errs = append(errs, structuralInvariants(p.GetProperties()[k], fieldLevel, path.Child("properties").Key(k))...)
	}
	if ap := p.GetAdditionalProperties(); ap != nil {
		if lvl == rootLevel {
			errs = append(errs, field.Forbidden(path.Child("additionalProperties"), "must not be used at the root"))
		}
		errs = append(errs, structuralInvariants(ap.GetSchema(), fieldLevel, path.Child("additionalProperties"))...)
	}
	intOrString, preserve, embedded := p.GetXKubernetesIntOrString(), p.GetXKubernetesPreserveUnknownFields(), p.GetXKubernetesEmbeddedResource()
	if intOrString && preserve {
		errs = append(errs, field.Invalid(path.Child("x-kubernetes-preserve-unknown-fields"), true, "must be false if x-kubernetes-int-or-string is true"))
	}
	if intOrString && embedded {
		errs = append(errs, field.Invalid(path.Child("x-kubernetes-embedded-resource"), true, "must be false if x-kubernetes-int-or-string is true"))
	}
	errs = append(errs, valueValidation(p, intOrStringAnyOf(p), intOrStringAllOf(p), path)...)

	typ := p.GetType()
	switch {
	case embedded && typ != "object":
		errs = append(errs, typeMustBe(p, path, "object", "x-kubernetes-embedded-resource is true")...)
	case typ == "" && !intOrString && !preserve:
		errs = append(errs, field.Required(path.Child("type"), emptyTypeDetail[lvl]))
	}
	if embedded && p.GetAdditionalProperties() != nil {
		errs = append(errs, field.Forbidden(path.Child("additionalProperties"), "must not be used if x-kubernetes-embedded-resource is set"))
	}
	if lvl == rootLevel && typ != "" && typ != "object" {
		errs = append(errs, field.Invalid(path.Child("type"), typ, "must be object at the root"))
	}
	resource := lvl == rootLevel || embedded
	for _, k := range []string{"kind", "apiVersion"} {
		if s, ok := p.GetProperties()[k]; ok && resource && s.GetType() != "string" {
			errs = append(errs, field.Invalid(path.Child("properties").Key(k).Child("type"), s.GetType(), "must be string"))
		}
	}
	if meta, ok := p.GetProperties()["metadata"]; ok {
		mp := path.Child("properties").Key("metadata")
		if resource && meta.GetType() != "object" {
			errs = append(errs, field.Invalid(mp.Child("type"), meta.GetType(), "must be object"))
		}
		if lvl == rootLevel && !onlyNameRestrictions(meta) {
			errs = append(errs, field.Forbidden(mp, "must not specify anything other than name and generateName, but metadata is implicitly specified"))
		}
	}
	if embedded && !preserve && len(p.GetProperties()) == 0 {
		errs = append(errs, field.Required(path.Child("properties"), "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"))
	}
	return errs
}

var emptyTypeDetail = map[level]string{
	rootLevel:  "must not be empty at the root",
	itemLevel:  "must not be empty for specified array items",
	fieldLevel: "must not be empty for specified object fields",
}

// onlyNameRestrictions reports whether the root's metadata schema says
// nothing but its type and the schemas of name and generateName (what
// Kubernetes' structural form of it keeps: example and external docs are
// not part of it).
func onlyNameRestrictions(meta *apiextensionsv1.JSONSchemaProps) bool {
	m := proto.Clone(meta).(*apiextensionsv1.JSONSchemaProps)
	props := m.GetProperties()
	_, name := props["name"]
	_, generateName := props["generateName"]
	if (name && generateName && len(props) == 2) || ((name || generateName) && len(props) == 1) {
		m.Properties = nil
	}
	m.Type, m.Default, m.Example, m.ExternalDocs = "", nil, nil, nil
	return proto.Equal(m, &apiextensionsv1.JSONSchemaProps{})
}

// valueValidation checks the allOf/anyOf/oneOf/not of p, where schemas
// may only restrict values, and p's pattern.
func valueValidation(p *apiextensionsv1.JSONSchemaProps, skipAnyOf, skipFirstAllOfAnyOf bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !skipAnyOf {
		for i, sub := range p.GetAnyOf() {
			errs = append(errs, nested(sub, false, path.Child("anyOf").Index(i))...)
		}
	}
	for i, sub := range p.GetAllOf() {
		errs = append(errs, nested(sub, skipFirstAllOfAnyOf && i == 0, path.Child("allOf").Index(i))...)
	}
	for i, sub := range p.GetOneOf() {
		errs = append(errs, nested(sub, false, path.Child("oneOf").Index(i))...)
	}
	errs = append(errs, nested(p.GetNot(), false, path.Child("not"))...)
	if pat := p.GetPattern(); pat != "" {
		if _, err := regexp.Compile(pat); err != nil {
			errs = append(errs, field.Invalid(path.Child("pattern"), pat, fmt.Sprintf("must be a valid regular expression, but isn't: %v", err)))
		}
	}
	return errs
}

// intOrStringAnyOf and intOrStringAllOf recognise the two shapes in which
// int-or-string fields may name their types inside anyOf.
func intOrStringAnyOf(p *apiextensionsv1.JSONSchemaProps) bool {
	a := p.GetAnyOf()
	return len(a) == 2 && proto.Equal(a[0], &apiextensionsv1.JSONSchemaProps{Type: "integer"}) &&
		proto.Equal(a[1], &apiextensionsv1.JSONSchemaProps{Type: "string"})
}

func intOrStringAllOf(p *apiextensionsv1.JSONSchemaProps) bool {
	return len(p.GetAllOf()) >= 1 && intOrStringAnyOf(p.GetAllOf()[0])
}
