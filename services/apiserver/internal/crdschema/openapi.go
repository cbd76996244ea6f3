package crdschema

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/json"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/pkg/kjson"
)

// OpenAPI is the schema as an OpenAPI v3 schema object, JSON-shaped
// (map[string]any, []any, string, int64, float64, bool), with Kubernetes'
// x-kubernetes-* extensions kept; nil for a version without a schema.
func (s *Structural) OpenAPI() map[string]any {
	if s.props == nil {
		return nil
	}
	raw, err := kjson.Marshal(s.props)
	if err != nil {
		return nil // the schema passed Check, so it encodes
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil
	}
	return out
}

// validatedFormats are the string formats Kubernetes checks values
// against (as kube-openapi normalises them, without dashes); any other
// format is documentation only.
var validatedFormats = map[string]bool{
	"bsonobjectid": true, "uri": true, "email": true, "hostname": true,
	"ipv4": true, "ipv6": true, "cidr": true, "mac": true, "uuid": true,
	"uuid3": true, "uuid4": true, "uuid5": true, "isbn": true, "isbn10": true,
	"isbn13": true, "creditcard": true, "ssn": true, "hexcolor": true,
	"rgbcolor": true, "byte": true, "password": true, "date": true,
	"duration": true, "datetime": true, "k8sshortname": true, "k8slongname": true,
}

// newValidator is the kube-openapi validator of a schema that passed Check.
func newValidator(p *apiextensionsv1.JSONSchemaProps) *validate.SchemaValidator {
	return validate.NewSchemaValidator(toSpec(p), nil, "", strfmt.Default)
}

// toSpec converts p to kube-openapi's schema the way apiextensions-apiserver
// does for validation: int-or-string is the type [integer, string] and
// formats Kubernetes does not check are dropped.
func toSpec(p *apiextensionsv1.JSONSchemaProps) *spec.Schema {
	if p == nil {
		return nil
	}
	out := &spec.Schema{}
	sp := &out.SchemaProps
	sp.Description, sp.Title, sp.Nullable = p.GetDescription(), p.GetTitle(), p.GetNullable()
	if p.GetType() != "" {
		sp.Type = spec.StringOrArray{p.GetType()}
	}
	if p.GetXKubernetesIntOrString() {
		sp.Type = spec.StringOrArray{"integer", "string"}
	}
	if validatedFormats[strings.ReplaceAll(p.GetFormat(), "-", "")] {
		sp.Format = p.GetFormat()
	}
	sp.Maximum, sp.ExclusiveMaximum = p.Maximum, p.GetExclusiveMaximum()
	sp.Minimum, sp.ExclusiveMinimum = p.Minimum, p.GetExclusiveMinimum()
	sp.MaxLength, sp.MinLength, sp.Pattern = p.MaxLength, p.MinLength, p.GetPattern()
	sp.MaxItems, sp.MinItems, sp.UniqueItems = p.MaxItems, p.MinItems, p.GetUniqueItems()
	sp.MultipleOf = p.MultipleOf
	sp.MaxProperties, sp.MinProperties = p.MaxProperties, p.MinProperties
	sp.Required = p.GetRequired()
	for _, e := range p.GetEnum() {
		v, _ := decodeJSON(e)
		sp.Enum = append(sp.Enum, v)
	}
	for _, sub := range p.GetAllOf() {
		sp.AllOf = append(sp.AllOf, *toSpec(sub))
	}
	for _, sub := range p.GetOneOf() {
		sp.OneOf = append(sp.OneOf, *toSpec(sub))
	}
	for _, sub := range p.GetAnyOf() {
		sp.AnyOf = append(sp.AnyOf, *toSpec(sub))
	}
	sp.Not = toSpec(p.GetNot())
	if len(p.GetProperties()) > 0 {
		sp.Properties = make(map[string]spec.Schema, len(p.GetProperties()))
		for k, sub := range p.GetProperties() {
			sp.Properties[k] = *toSpec(sub)
		}
	}
	if ap := p.GetAdditionalProperties(); ap != nil {
		sp.AdditionalProperties = &spec.SchemaOrBool{Allows: ap.GetAllows() || ap.GetSchema() != nil, Schema: toSpec(ap.GetSchema())}
	}
	if it := p.GetItems().GetSchema(); it != nil {
		sp.Items = &spec.SchemaOrArray{Schema: toSpec(it)}
	}
	return out
}
