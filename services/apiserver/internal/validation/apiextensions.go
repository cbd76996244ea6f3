package validation

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/crdnames"
	"skiff.dev/services/apiserver/internal/field"
)

// SchemaCheck checks the body of one version's OpenAPI schema (that it is
// structural, its defaults, its CEL rules) and reports errors under
// fldPath. A CustomResourceDefinition's checks call it once for each
// schema they report on.
type SchemaCheck func(props *apiextensionsv1.JSONSchemaProps, fldPath *field.Path) field.ErrorList

// crdRules are the checks that differ between a created definition and an
// updated one: an update is not refused for what the stored definition
// was allowed to have.
type crdRules struct {
	requireSchemas            bool // every version needs a schema
	requireKnownReviewVersion bool // a webhook must understand v1 or v1beta1 reviews
	fixedKindAndScope         bool // the definition is established
	checkCABundle             bool // the webhook's CA bundle must be readable
}

var createRules = crdRules{requireSchemas: true, requireKnownReviewVersion: true}

// ValidateCustomResourceDefinition checks a definition being created the
// way Kubernetes checks an apiextensions.k8s.io/v1 one, with Kubernetes'
// paths: its name, spec, status.acceptedNames and storedVersions, the API
// approval of the protected groups and preserveUnknownFields. schema
// checks the body of each version's schema (nil: none).
//
// Kubernetes checks a definition after converting it to its internal
// form, which moves a schema, subresources, printer columns or selectable
// fields that every version sets alike to the spec's top level; errors in
// those are reported there (spec.validation.openAPIV3Schema,
// spec.subresources, spec.additionalPrinterColumns, spec.selectableFields)
// and schema is called with that path, once. Errors about spec.versions
// as a whole carry no value, where Kubernetes shows the internal list.
// Metadata other than the name rule is left to the registry; the status
// is expected to be cleared and the storage version recorded
// (crdnames.RecordStorageVersion) before.
func ValidateCustomResourceDefinition(crd *apiextensionsv1.CustomResourceDefinition, schema SchemaCheck) field.ErrorList {
	var errs field.ErrorList
	sp := crd.GetSpec()
	if name := crd.GetMetadata().GetName(); name != "" && name != sp.GetNames().GetPlural()+"."+sp.GetGroup() {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), name, `must be spec.names.plural+"."+spec.group`))
	}
	errs = append(errs, crdSpec(sp, createRules, schema)...)
	return append(errs, crdStatus(crd, nil)...)
}

// ValidateCustomResourceDefinitionUpdate checks a definition replacing
// old the way Kubernetes does: all of ValidateCustomResourceDefinition
// but the name, with what old was allowed still allowed (versions
// without a schema, unknown review versions, a bad CA bundle), and the
// group and plural, and once old is established the scope and kind,
// unchanged. A removed version that status.storedVersions lists is
// refused. Kubernetes also relaxes its schema checks for what old's
// schemas already had; schema is given no old schema, so a caller that
// wants that closes over old.
func ValidateCustomResourceDefinitionUpdate(crd, old *apiextensionsv1.CustomResourceDefinition, schema SchemaCheck) field.ErrorList {
	sp, oldSp := crd.GetSpec(), old.GetSpec()
	rules := updateRules(old)
	errs := crdSpec(sp, rules, schema)
	p := field.NewPath("spec")
	if rules.fixedKindAndScope {
		if sp.GetScope() != oldSp.GetScope() {
			errs = append(errs, immutable(p.Child("scope"), sp.GetScope()))
		}
		if sp.GetNames().GetKind() != oldSp.GetNames().GetKind() {
			errs = append(errs, immutable(p.Child("names", "kind"), sp.GetNames().GetKind()))
		}
	}
	if sp.GetGroup() != oldSp.GetGroup() {
		errs = append(errs, immutable(p.Child("group"), sp.GetGroup()))
	}
	if sp.GetNames().GetPlural() != oldSp.GetNames().GetPlural() {
		errs = append(errs, immutable(p.Child("names", "plural"), sp.GetNames().GetPlural()))
	}
	return append(errs, crdStatus(crd, old)...)
}

// ValidateCustomResourceDefinitionStatus checks a write of a definition's
// status (its metadata aside): the accepted names, as Kubernetes' status
// strategy does. Stored versions are not checked there, so a migration
// may drop one.
func ValidateCustomResourceDefinitionStatus(crd *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	return crdNames(crd.GetStatus().GetAcceptedNames(), field.NewPath("status", "acceptedNames"))
}

func updateRules(old *apiextensionsv1.CustomResourceDefinition) crdRules {
	r := crdRules{requireSchemas: true, requireKnownReviewVersion: true, fixedKindAndScope: crdnames.IsEstablished(old)}
	for _, v := range old.GetSpec().GetVersions() {
		r.requireSchemas = r.requireSchemas && v.GetSchema().GetOpenApiV3Schema() != nil
	}
	if reviews := old.GetSpec().GetConversion().GetWebhook().GetConversionReviewVersions(); len(reviews) > 0 {
		r.requireKnownReviewVersion = knownReviewVersion(reviews)
	}
	// A bad CA bundle may stay while the definition is not established, or
	// when the old one was bad as well.
	if r.fixedKindAndScope {
		ca := old.GetSpec().GetConversion().GetWebhook().GetClientConfig().GetCaBundle()
		r.checkCABundle = len(ca) == 0 || crdnames.CABundleError(ca) == nil
	}
	return r
}

// crdStatus is what Kubernetes checks of the status and the annotations
// with every write of the main resource.
func crdStatus(crd, old *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	errs := ValidateCustomResourceDefinitionStatus(crd)
	errs = append(errs, storedVersions(crd.GetStatus().GetStoredVersions(), crd.GetSpec().GetVersions(), field.NewPath("status", "storedVersions"))...)
	errs = append(errs, apiApproval(crd, old)...)
	return append(errs, preserveUnknownFields(crd, old)...)
}

func crdSpec(sp *apiextensionsv1.CustomResourceDefinitionSpec, rules crdRules, schema SchemaCheck) field.ErrorList {
	p := field.NewPath("spec")
	errs := crdGroup(sp.GetGroup(), p.Child("group"))
	errs = append(errs, oneOf(sp.GetScope(), []string{"Cluster", "Namespaced"}, p.Child("scope"))...)
	errs = append(errs, schemasPresent(sp, rules, p)...)
	if sp.GetPreserveUnknownFields() && anySchemaHas(sp, func(s *apiextensionsv1.JSONSchemaProps) bool { return s.Default != nil }) {
		errs = append(errs, field.Invalid(p.Child("preserveUnknownFields"), true, "must be false in order to use defaults in the schema"))
	}
	sh := sharedOf(sp.GetVersions())
	errs = append(errs, crdVersions(sp.GetVersions(), sh, p, schema)...)
	names, np := sp.GetNames(), p.Child("names")
	for _, n := range []struct{ name, value string }{
		{"plural", names.GetPlural()}, {"singular", names.GetSingular()}, {"kind", names.GetKind()}, {"listKind", names.GetListKind()},
	} {
		if n.value == "" {
			errs = append(errs, field.Required(np.Child(n.name), ""))
		}
	}
	errs = append(errs, crdNames(names, np)...)
	errs = append(errs, sharedParts(sp.GetVersions(), sh, p, schema)...)
	if c := sp.GetConversion(); c != nil && c.GetStrategy() != "None" && sp.GetPreserveUnknownFields() {
		errs = append(errs, field.Invalid(p.Child("conversion", "strategy"), c.GetStrategy(), "must be None if spec.preserveUnknownFields is true"))
	}
	return append(errs, conversion(sp.GetConversion(), rules, p.Child("conversion"))...)
}

func crdGroup(group string, p *field.Path) field.ErrorList {
	switch msgs := validation.IsDNS1123Subdomain(group); {
	case group == "":
		return field.ErrorList{field.Required(p, "")}
	case len(msgs) > 0:
		return field.ErrorList{field.Invalid(p, group, strings.Join(msgs, ","))}
	case !strings.Contains(group, "."):
		return field.ErrorList{field.Invalid(p, group, "should be a domain with at least one dot")}
	}
	return nil
}

// schemasPresent: every version has a schema, or, where an older
// definition had versions without one, every served version does unless
// unknown fields are kept.
func schemasPresent(sp *apiextensionsv1.CustomResourceDefinitionSpec, rules crdRules, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, v := range sp.GetVersions() {
		sch := p.Child("versions").Index(i).Child("schema", "openAPIV3Schema")
		switch {
		case v.GetSchema().GetOpenApiV3Schema() != nil:
		case rules.requireSchemas:
			errs = append(errs, field.Required(sch, ""))
		case !sp.GetPreserveUnknownFields() && v.GetServed():
			errs = append(errs, field.Required(sch, "because otherwise all fields are pruned"))
		}
	}
	return errs
}
