package crdschema

import (
	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// walker checks a schema the way Kubernetes' v1 CRD validation walks it,
// keeping the errors about the schema apart from those about CEL rules
// (which follow them).
type walker struct {
	schemaErrs field.ErrorList
	celErrs    field.ErrorList
}

// scope is what the walk knows about where it is.
type scope struct {
	allowDefaults  bool
	noDefaultsWhy  string
	inResourceMeta bool
	// uncorrelatable is the outermost list or map above whose old and new
	// elements cannot be paired, so rules below may not use oldSelf.
	uncorrelatable *field.Path
}

func (s scope) forbidDefaults(why string) scope {
	s.allowDefaults, s.noDefaultsWhy = false, why
	return s
}

func (s scope) forbidOldSelf(p *field.Path) scope {
	if s.uncorrelatable == nil {
		s.uncorrelatable = p
	}
	return s
}

// walk checks p at path; n is its structural node when CEL rules are to be
// compiled (nil inside allOf/anyOf/oneOf/not or when the schema is not
// structural).
func (w *walker) walk(p *apiextensionsv1.JSONSchemaProps, path *field.Path, sc scope, isRoot bool, n *node) {
	if p == nil {
		return
	}
	before := len(w.schemaErrs)
	w.schemaErrs = append(w.schemaErrs, checkFields(p, path, sc)...)
	if p.GetUniqueItems() {
		w.schemaErrs = append(w.schemaErrs, field.Forbidden(path.Child("uniqueItems"), "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
	}
	if ap := p.GetAdditionalProperties(); ap != nil {
		if len(p.GetProperties()) != 0 && (!ap.GetAllows() || ap.GetSchema() != nil) {
			w.schemaErrs = append(w.schemaErrs, field.Forbidden(path.Child("additionalProperties"), "additionalProperties and properties are mutual exclusive"))
		}
		sub := sc
		if sc.inResourceMeta {
			sub = sc.forbidDefaults("inside additionalProperties applying to object metadata")
		}
		w.walk(ap.GetSchema(), path.Child("additionalProperties"), sub, false, n.child(func(n *node) *node { return n.additional }))
	}
	for _, k := range sortedKeys(p.GetProperties()) {
		sub := sc
		if mt := p.GetXKubernetesMapType(); p.XKubernetesMapType != nil && mt != "granular" && mt != "atomic" {
			sub = sub.forbidOldSelf(path)
		}
		if (isRoot || p.GetXKubernetesEmbeddedResource()) && resourceFields[k] {
			sub.inResourceMeta = true
			if isRoot {
				sub = sub.forbidDefaults("in top-level " + k)
			}
		}
		w.walk(p.GetProperties()[k], path.Child("properties").Key(k), sub, false, n.child(func(n *node) *node { return n.properties[k] }))
	}
	w.walk(p.GetNot(), path.Child("not"), sc, false, nil)
	for i, sub := range p.GetAllOf() {
		w.walk(sub, path.Child("allOf").Index(i), sc, false, nil)
	}
	for i, sub := range p.GetOneOf() {
		w.walk(sub, path.Child("oneOf").Index(i), sc, false, nil)
	}
	for i, sub := range p.GetAnyOf() {
		w.walk(sub, path.Child("anyOf").Index(i), sc, false, nil)
	}
	for _, k := range sortedKeys(p.GetDefinitions()) {
		w.walk(p.GetDefinitions()[k], path.Child("definitions").Key(k), sc, false, nil)
	}
	if items := p.GetItems(); items != nil {
		sub := sc
		if p.GetXKubernetesListType() != "map" {
			sub = sub.forbidOldSelf(path)
		}
		w.walk(items.GetSchema(), path.Child("items"), sub, false, n.child(func(n *node) *node { return n.items }))
		for i, s := range items.GetJsonSchemas() {
			w.walk(s, path.Child("items").Index(i), sub, false, nil)
		}
	}
	for _, k := range sortedKeys(p.GetDependencies()) {
		w.walk(p.GetDependencies()[k].GetSchema(), path.Child("dependencies").Key(k), sc, false, nil)
	}
	w.schemaErrs = append(w.schemaErrs, checkExtensions(p, path)...)
	w.schemaErrs = append(w.schemaErrs, checkRuleFields(p, path)...)
	// As Kubernetes: rules are compiled only where the schema at and below
	// this point is otherwise fine, so CEL errors are not noise.
	if len(p.GetXKubernetesValidations()) > 0 && len(w.schemaErrs) == before && n != nil {
		w.celErrs = append(w.celErrs, ruleErrors(p, path, sc, n)...)
	}
}

// child is the structural node f picks below n, nil when n is nil.
func (n *node) child(f func(*node) *node) *node {
	if n == nil {
		return nil
	}
	return f(n)
}

// checkFields reports the fields apiextensions.k8s.io/v1 does not support
// and defaults where they are not allowed.
func checkFields(p *apiextensionsv1.JSONSchemaProps, path *field.Path, sc scope) field.ErrorList {
	var errs field.ErrorList
	if t := p.GetType(); t != "" && !openAPITypes[t] {
		errs = append(errs, field.NotSupported(path.Child("type"), t, []string{"array", "boolean", "integer", "number", "object", "string"}))
	}
	if p.GetDefault() != nil && !sc.allowDefaults {
		detail := "must not be set"
		if sc.noDefaultsWhy != "" {
			detail += " " + sc.noDefaultsWhy
		}
		errs = append(errs, field.Forbidden(path.Child("default"), detail))
	}
	if p.GetId() != "" {
		errs = append(errs, field.Forbidden(path.Child("id"), "id is not supported"))
	}
	if p.GetAdditionalItems() != nil {
		errs = append(errs, field.Forbidden(path.Child("additionalItems"), "additionalItems is not supported"))
	}
	if len(p.GetPatternProperties()) != 0 {
		errs = append(errs, field.Forbidden(path.Child("patternProperties"), "patternProperties is not supported"))
	}
	if len(p.GetDefinitions()) != 0 {
		errs = append(errs, field.Forbidden(path.Child("definitions"), "definitions is not supported"))
	}
	if p.GetDependencies() != nil {
		errs = append(errs, field.Forbidden(path.Child("dependencies"), "dependencies is not supported"))
	}
	if p.Ref != nil {
		errs = append(errs, field.Forbidden(path.Child("$ref"), "$ref is not supported"))
	}
	if p.GetType() == "null" {
		errs = append(errs, field.Forbidden(path.Child("type"), "type cannot be set to null, use nullable as an alternative"))
	}
	if len(p.GetItems().GetJsonSchemas()) != 0 {
		errs = append(errs, field.Forbidden(path.Child("items"), "items must be a schema object and not an array"))
	}
	if sc.inResourceMeta && p.GetXKubernetesEmbeddedResource() {
		errs = append(errs, field.Forbidden(path.Child("x-kubernetes-embedded-resource"), "must not be used inside of resource meta"))
	}
	return errs
}

var openAPITypes = map[string]bool{"array": true, "boolean": true, "integer": true, "number": true, "object": true, "string": true}
