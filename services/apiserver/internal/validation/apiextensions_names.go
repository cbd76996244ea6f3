package validation

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// apiApprovalAnnotation approves a definition in a group of the
// Kubernetes project (k8s.io, kubernetes.io).
const apiApprovalAnnotation = "api-approved.kubernetes.io"

// jsonValue shows a list or bytes in an error as Kubernetes does, as JSON.
type jsonValue struct{ v any }

func (j jsonValue) String() string {
	b, err := json.Marshal(j.v)
	if err != nil {
		return fmt.Sprintf("%v", j.v)
	}
	return string(b)
}

// crdNames checks names where they are set; which must be is the spec's
// business.
func crdNames(n *apiextensionsv1.CustomResourceDefinitionNames, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	label := func(child, v string, mixedCase bool) {
		check, prefix := v, ""
		if mixedCase {
			check, prefix = strings.ToLower(v), "may have mixed case, but should otherwise match: "
		}
		if msgs := validation.IsDNS1035Label(check); v != "" && len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child(child), v, prefix+strings.Join(msgs, ",")))
		}
	}
	label("plural", n.GetPlural(), false)
	label("singular", n.GetSingular(), false)
	label("kind", n.GetKind(), true)
	label("listKind", n.GetListKind(), true)
	errs = append(errs, labelList(n.GetShortNames(), p.Child("shortNames"))...)
	if n.GetKind() != "" && n.GetKind() == n.GetListKind() {
		errs = append(errs, field.Invalid(p.Child("listKind"), n.GetListKind(), "kind and listKind may not be the same"))
	}
	return append(errs, labelList(n.GetCategories(), p.Child("categories"))...)
}

// labelList checks that each of names, empty ones too, is a DNS-1035
// label.
func labelList(names []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range names {
		if msgs := validation.IsDNS1035Label(s); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Index(i), s, strings.Join(msgs, ",")))
		}
	}
	return errs
}

// storedVersions: the storage version is among them, and each one is
// still a version (its objects may be stored in it).
func storedVersions(stored []string, versions []*apiextensionsv1.CustomResourceDefinitionVersion, p *field.Path) field.ErrorList {
	if len(stored) == 0 {
		return field.ErrorList{field.Invalid(p, jsonValue{stored}, "must have at least one stored version")}
	}
	var errs field.ErrorList
	for _, v := range versions {
		if v.GetStorage() && !slices.Contains(stored, v.GetName()) {
			errs = append(errs, field.Invalid(p, jsonValue{stored}, "must have the storage version "+v.GetName()))
		}
	}
	for i, s := range stored {
		// A name listed twice is reported at its last place.
		if slices.Index(stored[i+1:], s) >= 0 || slices.ContainsFunc(versions, func(v *apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.GetName() == s }) {
			continue
		}
		errs = append(errs, field.Invalid(p.Index(i), s, fmt.Sprintf("missing from spec.versions; %[1]s was previously a storage version, "+
			"and must remain in spec.versions until a storage migration ensures no data remains persisted in %[1]s "+
			"and removes %[1]s from status.storedVersions", s)))
	}
	return errs
}

// apiApproval: a definition in a Kubernetes project group needs the
// approval annotation, a URL or a reason starting with "unapproved";
// an update that leaves the annotation's verdict unchanged passes.
func apiApproval(crd, old *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	g := crd.GetSpec().GetGroup()
	if g != "k8s.io" && !strings.HasSuffix(g, ".k8s.io") && g != "kubernetes.io" && !strings.HasSuffix(g, ".kubernetes.io") {
		return nil
	}
	v := crd.GetMetadata().GetAnnotations()[apiApprovalAnnotation]
	verdict := approval(v)
	if old != nil && approval(old.GetMetadata().GetAnnotations()[apiApprovalAnnotation]) == verdict {
		return nil
	}
	p := field.NewPath("metadata", "annotations").Key(apiApprovalAnnotation)
	switch verdict {
	case "missing":
		return field.ErrorList{field.Required(p, fmt.Sprintf("protected groups must have approval annotation %q, see https://github.com/kubernetes/enhancements/pull/1111", apiApprovalAnnotation))}
	case "invalid":
		return field.ErrorList{field.Invalid(p, v, fmt.Sprintf("protected groups must have approval annotation %q with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111", apiApprovalAnnotation))}
	}
	return nil
}

// approval reads the approval annotation: missing, bypassed (a reason
// starting with "unapproved"), approved (a URL) or invalid.
func approval(v string) string {
	switch u, err := url.ParseRequestURI(v); {
	case v == "":
		return "missing"
	case strings.HasPrefix(v, "unapproved"):
		return "bypassed"
	case err == nil && u.Host != "" && u.Scheme != "":
		return "approved"
	}
	return "invalid"
}

// preserveUnknownFields may not become true; a definition that had it
// true keeps it.
func preserveUnknownFields(crd, old *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	if old.GetSpec().GetPreserveUnknownFields() || !crd.GetSpec().GetPreserveUnknownFields() {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("spec", "preserveUnknownFields"), true,
		"cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead")}
}

// anySchemaHas reports whether pred holds for a schema anywhere in one of
// the versions' schemas.
func anySchemaHas(sp *apiextensionsv1.CustomResourceDefinitionSpec, pred func(*apiextensionsv1.JSONSchemaProps) bool) bool {
	return slices.ContainsFunc(sp.GetVersions(), func(v *apiextensionsv1.CustomResourceDefinitionVersion) bool {
		return schemaHas(v.GetSchema().GetOpenApiV3Schema(), pred)
	})
}

func schemaHas(s *apiextensionsv1.JSONSchemaProps, pred func(*apiextensionsv1.JSONSchemaProps) bool) bool {
	if s == nil {
		return false
	}
	if pred(s) {
		return true
	}
	sub := append([]*apiextensionsv1.JSONSchemaProps{s.GetItems().GetSchema(), s.Not,
		s.GetAdditionalProperties().GetSchema(), s.GetAdditionalItems().GetSchema()}, s.GetItems().GetJsonSchemas()...)
	sub = append(append(append(sub, s.AllOf...), s.AnyOf...), s.OneOf...)
	for _, m := range []map[string]*apiextensionsv1.JSONSchemaProps{s.Properties, s.PatternProperties, s.Definitions} {
		for _, c := range m {
			sub = append(sub, c)
		}
	}
	for _, d := range s.Dependencies {
		sub = append(sub, d.GetSchema())
	}
	return slices.ContainsFunc(sub, func(c *apiextensionsv1.JSONSchemaProps) bool { return schemaHas(c, pred) })
}
