package validation

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// shared says which per-version parts every version sets alike, so that
// Kubernetes' conversion to its internal form moves them to the spec's
// top level and checks them once there. Versions that all leave a part
// unset share it too.
type shared struct {
	schema, subresources, columns, selectableFields bool
}

func sharedOf(versions []*apiextensionsv1.CustomResourceDefinitionVersion) shared {
	if len(versions) == 0 {
		return shared{}
	}
	s, first := shared{true, true, true, true}, versions[0]
	for _, v := range versions[1:] {
		s.schema = s.schema && proto.Equal(v.GetSchema(), first.GetSchema())
		s.subresources = s.subresources && proto.Equal(v.GetSubresources(), first.GetSubresources())
		s.columns = s.columns && slices.EqualFunc(v.GetAdditionalPrinterColumns(), first.GetAdditionalPrinterColumns(), protoEqual)
		s.selectableFields = s.selectableFields && slices.EqualFunc(v.GetSelectableFields(), first.GetSelectableFields(), protoEqual)
	}
	return s
}

func protoEqual[M proto.Message](a, b M) bool { return proto.Equal(a, b) }

// crdVersions checks each version's name and own parts, then the list.
func crdVersions(versions []*apiextensionsv1.CustomResourceDefinitionVersion, sh shared, p *field.Path, schema SchemaCheck) field.ErrorList {
	var errs field.ErrorList
	seen, unique, storage := map[string]bool{}, true, 0
	for i, v := range versions {
		vp := p.Child("versions").Index(i)
		if v.GetStorage() {
			storage++
		}
		unique = unique && !seen[v.GetName()]
		seen[v.GetName()] = true
		if msgs := validation.IsDNS1035Label(v.GetName()); len(msgs) > 0 {
			errs = append(errs, field.Invalid(vp.Child("name"), v.GetName(), strings.Join(msgs, ",")))
		}
		errs = append(errs, crdVersion(v, sh, vp, schema)...)
	}
	if !unique {
		errs = append(errs, field.Invalid(p.Child("versions"), nil, "must contain unique version names"))
	}
	if storage != 1 {
		errs = append(errs, field.Invalid(p.Child("versions"), nil, "must have exactly one version marked as storage version"))
	}
	// The internal form names the first version in spec.version as well.
	if len(versions) > 0 && versions[0].GetName() != "" {
		if msgs := validation.IsDNS1035Label(versions[0].GetName()); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("version"), versions[0].GetName(), strings.Join(msgs, ",")))
		}
	}
	return errs
}

// crdVersion checks the parts of one version that are its own.
func crdVersion(v *apiextensionsv1.CustomResourceDefinitionVersion, sh shared, vp *field.Path, schema SchemaCheck) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range deprecationWarning(v.GetDeprecated(), v.DeprecationWarning) {
		errs = append(errs, field.Invalid(vp.Child("deprecationWarning"), jsonValue{v.DeprecationWarning}, msg))
	}
	if !sh.schema {
		errs = append(errs, schemaRoot(v.GetSchema(), v.GetSubresources().GetStatus() != nil, vp.Child("schema"), schema)...)
	}
	if !sh.subresources {
		errs = append(errs, subresources(v.GetSubresources(), vp.Child("subresources"))...)
	}
	if !sh.columns {
		errs = append(errs, columns(v.GetAdditionalPrinterColumns(), vp.Child("additionalPrinterColumns"))...)
	}
	if !sh.selectableFields && len(v.GetSelectableFields()) > 0 {
		// A shared schema has moved to the top level, so the version has
		// none of its own here (as in Kubernetes).
		var own *apiextensionsv1.JSONSchemaProps
		if !sh.schema {
			own = v.GetSchema().GetOpenApiV3Schema()
		}
		if own == nil {
			errs = append(errs, field.Invalid(vp.Child("selectableFields"), "", "may only be set when `version.schema.openAPIV3Schema` is not included"))
		} else {
			errs = append(errs, selectableFields(v.GetSelectableFields(), own, vp.Child("selectableFields"))...)
		}
	}
	return errs
}

// sharedParts checks the parts every version sets alike, once, at the
// top-level paths of Kubernetes' internal form.
func sharedParts(versions []*apiextensionsv1.CustomResourceDefinitionVersion, sh shared, p *field.Path, schema SchemaCheck) field.ErrorList {
	if len(versions) == 0 {
		return nil
	}
	first := versions[0]
	var errs field.ErrorList
	if sh.schema {
		status := slices.ContainsFunc(versions, func(v *apiextensionsv1.CustomResourceDefinitionVersion) bool {
			return v.GetSubresources().GetStatus() != nil
		})
		errs = append(errs, schemaRoot(first.GetSchema(), status, p.Child("validation"), schema)...)
	}
	if sh.subresources {
		errs = append(errs, subresources(first.GetSubresources(), p.Child("subresources"))...)
	}
	if sh.columns {
		errs = append(errs, columns(first.GetAdditionalPrinterColumns(), p.Child("additionalPrinterColumns"))...)
	}
	if sh.selectableFields && len(first.GetSelectableFields()) > 0 {
		if first.GetSchema() == nil || !sh.schema {
			errs = append(errs, field.Invalid(p.Child("selectableFields"), "", "may only be set when validations.schema is included"))
		} else {
			errs = append(errs, selectableFields(first.GetSelectableFields(), first.GetSchema().GetOpenApiV3Schema(), p.Child("selectableFields"))...)
		}
	}
	return errs
}

func deprecationWarning(deprecated bool, w *string) []string {
	switch {
	case !deprecated && w != nil:
		return []string{"can only be set for deprecated versions"}
	case w == nil:
		return nil
	}
	var msgs []string
	if len(*w) > 256 {
		msgs = append(msgs, "must be <= 256 characters long")
	}
	if len(*w) == 0 {
		msgs = append(msgs, "must not be an empty string")
	}
	for i, r := range *w {
		if !unicode.IsPrint(r) {
			msgs = append(msgs, fmt.Sprintf("must only contain printable UTF-8 characters; non-printable character found at index %d", i))
			break
		}
		if unicode.IsControl(r) {
			msgs = append(msgs, fmt.Sprintf("must only contain printable UTF-8 characters; control character found at index %d", i))
			break
		}
	}
	if !utf8.ValidString(*w) {
		msgs = append(msgs, "must only contain printable UTF-8 characters")
	}
	return msgs
}
