package validation

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

func TestCustomResourceDefinitionParts(t *testing.T) {
	type crd = apiextensionsv1.CustomResourceDefinition
	scale := func(spec, status string, selector *string) func(*crd) {
		return func(c *crd) {
			c.Spec.Versions[0].Subresources = &apiextensionsv1.CustomResourceSubresources{Scale: &apiextensionsv1.CustomResourceSubresourceScale{
				SpecReplicasPath: spec, StatusReplicasPath: status, LabelSelectorPath: selector}}
		}
	}
	column := func(name, typ, format, path string) *apiextensionsv1.CustomResourceColumnDefinition {
		return &apiextensionsv1.CustomResourceColumnDefinition{Name: name, Type: typ, Format: format, JsonPath: path}
	}
	selectable := func(paths ...string) []*apiextensionsv1.SelectableField {
		var fs []*apiextensionsv1.SelectableField
		for _, p := range paths {
			fs = append(fs, &apiextensionsv1.SelectableField{JsonPath: p})
		}
		return fs
	}
	fieldsSchema := func(c *crd) {
		root := c.Spec.Versions[0].Schema.OpenApiV3Schema
		root.Properties["metadata"] = &props{Type: "object"}
		root.Properties["spec"].Properties = map[string]*props{"name": {Type: "string"}, "tags": {Type: "array"},
			"labels": {Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Schema: &props{Type: "string"}}}}
		for i := range 9 {
			root.Properties["spec"].Properties[fmt.Sprintf("f%d", i)] = &props{Type: "integer"}
		}
	}
	sel := func(i int) string { return fmt.Sprintf("spec.selectableFields[%d].jsonPath", i) }
	typeMsg := "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."
	tests := []struct {
		name   string
		change func(*crd)
		want   []string
	}{
		{"scale", scale(".spec.replicas", ".status.replicas", proto.String(".status.selector")), nil},
		{"scale without paths", scale("", "", proto.String("")), []string{
			"spec.subresources.scale.specReplicasPath: Required value", "spec.subresources.scale.statusReplicasPath: Required value"}},
		{"scale paths elsewhere", scale(".status.x", "status.y", proto.String(".metadata.labels")), []string{
			`spec.subresources.scale.specReplicasPath: Invalid value: ".status.x": should be a json path under .spec`,
			`spec.subresources.scale.statusReplicasPath: Invalid value: "status.y": must be a simple json path starting with .`,
			`spec.subresources.scale.labelSelectorPath: Invalid value: ".metadata.labels": should be a json path under either .spec or .status`}},
		{"a version's own scale", func(c *crd) {
			scale(".spec.r", ".status.r", nil)(c)
			secondVersion(c).Subresources.Scale.SpecReplicasPath = "spec.r"
		}, []string{`spec.versions[1].subresources.scale.specReplicasPath: Invalid value: "spec.r": must be a simple json path starting with .`}},
		{"empty column", func(c *crd) {
			c.Spec.Versions[0].AdditionalPrinterColumns = append(c.Spec.Versions[0].AdditionalPrinterColumns, column("", "", "x", ""))
		}, []string{
			"spec.additionalPrinterColumns[0].name: Required value",
			"spec.additionalPrinterColumns[0].type: Required value: must be one of boolean,date,integer,number,string",
			`spec.additionalPrinterColumns[0].format: Invalid value: "x": must be one of byte,date,date-time,double,float,int32,int64,password`,
			"spec.additionalPrinterColumns[0].JSONPath: Required value"}},
		{"a version's own column", func(c *crd) {
			c.Spec.Versions[0].AdditionalPrinterColumns = append(c.Spec.Versions[0].AdditionalPrinterColumns, column("Size", "integer", "int32", ".spec.size"))
			secondVersion(c).AdditionalPrinterColumns = []*apiextensionsv1.CustomResourceColumnDefinition{column("Age", "float", "", "metadata.creationTimestamp")}
		}, []string{
			`spec.versions[1].additionalPrinterColumns[0].type: Invalid value: "float": must be one of boolean,date,integer,number,string`,
			`spec.versions[1].additionalPrinterColumns[0].JSONPath: Invalid value: "metadata.creationTimestamp": must be a simple json path starting with .`}},
		{"selectable fields", func(c *crd) {
			fieldsSchema(c)
			c.Spec.Versions[0].SelectableFields = selectable(".spec.name", ".spec.tags", ".spec.missing", ".metadata", ".spec.name",
				"spec.name", ".spec.labels.a", ".spec[0]", ".spec.", "")
		}, []string{
			sel(1) + `: Invalid value: ".spec.tags": ` + typeMsg,
			sel(2) + `: Invalid value: ".spec.missing": is an invalid path: does not refer to a valid field`,
			sel(3) + `: Invalid value: ".metadata": must not point to fields in metadata`,
			sel(3) + `: Invalid value: ".metadata": ` + typeMsg,
			sel(4) + `: Duplicate value: ".spec.name"`,
			sel(5) + `: Invalid value: "spec.name": is an invalid path: expected [ or . but got: spec`,
			sel(7) + `: Invalid value: ".spec[0]": is an invalid path: array notation is not allowed`,
			sel(8) + `: Invalid value: ".spec.": is an invalid path: unexpected end of JSON path`,
			sel(9) + ": Required value"}},
		{"too many selectable fields", func(c *crd) {
			fieldsSchema(c)
			c.Spec.Versions[0].SelectableFields = selectable(".spec.f0", ".spec.f1", ".spec.f2", ".spec.f3", ".spec.f4", ".spec.f5", ".spec.f6", ".spec.f7", ".spec.f8")
		}, []string{"spec.selectableFields: Too many: 9: must have at most 8 items"}},
		{"a version's own selectable fields beside a shared schema", func(c *crd) {
			fieldsSchema(c)
			secondVersion(c).SelectableFields = selectable(".spec.name")
		}, []string{"spec.versions[1].selectableFields: Invalid value: \"\": may only be set when `version.schema.openAPIV3Schema` is not included"}},
		{"a version's own selectable fields and schema", func(c *crd) {
			fieldsSchema(c)
			v2 := secondVersion(c)
			v2.Schema.OpenApiV3Schema.Description = "v2"
			v2.SelectableFields = selectable(".spec.nope")
		}, []string{`spec.versions[1].selectableFields[0].jsonPath: Invalid value: ".spec.nope": is an invalid path: does not refer to a valid field`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCRD()
			tt.change(c)
			errorsEqual(t, ValidateCustomResourceDefinition(c, nil), tt.want...)
		})
	}
}

func TestCustomResourceDefinitionConversion(t *testing.T) {
	type conv = apiextensionsv1.CustomResourceConversion
	webhook := func(cc *apiextensionsv1.WebhookClientConfig, reviews ...string) *conv {
		return &conv{Strategy: "Webhook", Webhook: &apiextensionsv1.WebhookConversion{ClientConfig: cc, ConversionReviewVersions: reviews}}
	}
	url := func(u string) *apiextensionsv1.WebhookClientConfig {
		return &apiextensionsv1.WebhookClientConfig{Url: proto.String(u)}
	}
	svc := func(s *apiextensionsv1.ServiceReference) *apiextensionsv1.WebhookClientConfig {
		return &apiextensionsv1.WebhookClientConfig{Service: s}
	}
	const cc = "spec.conversion.webhookClientConfig"
	const form = "; desired format: https://host[/path]"
	tests := []struct {
		name string
		c    *conv
		want []string
	}{
		{"none", &conv{Strategy: "None"}, nil},
		{"no strategy", &conv{}, []string{"spec.conversion.strategy: Required value"}},
		{"unknown strategy", &conv{Strategy: "Magic"}, []string{`spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", "Webhook"`}},
		{"none with a webhook", &conv{Strategy: "None", Webhook: &apiextensionsv1.WebhookConversion{ClientConfig: url("https://x"), ConversionReviewVersions: []string{"v1"}}}, []string{
			cc + ": Forbidden: should not be set when strategy is not set to Webhook",
			"spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to Webhook"}},
		{"a webhook by URL", webhook(url("https://conv.example.com/convert"), "v1"), nil},
		{"a webhook by service", webhook(svc(&apiextensionsv1.ServiceReference{Namespace: "ns", Name: "conv", Port: proto.Int32(443), Path: proto.String("/convert/")}), "v1beta1"), nil},
		{"webhook without one", webhook(nil), []string{
			cc + ": Required value: required when strategy is set to Webhook", "spec.conversion.conversionReviewVersions: Required value"}},
		{"both url and service", webhook(&apiextensionsv1.WebhookClientConfig{Url: proto.String("https://x"), Service: &apiextensionsv1.ServiceReference{}}, "v1"),
			[]string{cc + ": Required value: exactly one of url or service is required"}},
		{"a bad URL", webhook(url("http://user@host/p?q=1#f"), "v1"), []string{
			cc + `.url: Invalid value: "http": 'https' is the only allowed URL scheme` + form,
			cc + `.url: Invalid value: "user": user information is not permitted in the URL`,
			cc + `.url: Invalid value: "f": fragments are not permitted in the URL`,
			cc + `.url: Invalid value: "q=1": query parameters are not permitted in the URL`}},
		{"an unparsable URL", webhook(url("https://h/%zz"), "v1"),
			[]string{cc + `.url: Required value: url must be a valid URL: parse "https://h/%zz": invalid URL escape "%zz"` + form}},
		{"a bad service", webhook(svc(&apiextensionsv1.ServiceReference{Path: proto.String("/a//B")}), "v1"), []string{
			cc + ".service.name: Required value", cc + ".service.namespace: Required value",
			cc + ".service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive",
			cc + `.service.path: Invalid value: "/a//B": segment[1] may not be empty`,
			cc + `.service.path: Invalid value: "/a//B": segment[2]: ` + validation.IsDNS1123Subdomain("B")[0]}},
		{"a relative service path", webhook(svc(&apiextensionsv1.ServiceReference{Namespace: "ns", Name: "conv", Port: proto.Int32(443), Path: proto.String("convert")}), "v1"),
			[]string{cc + `.service.path: Invalid value: "convert": must start with a '/'`}},
		{"review versions", webhook(url("https://x"), "v2", "v2", "V3"), []string{
			`spec.conversion.conversionReviewVersions[1]: Invalid value: "v2": duplicate version`,
			`spec.conversion.conversionReviewVersions[2]: Invalid value: "V3": ` + dns1035("V3"),
			`spec.conversion.conversionReviewVersions: Invalid value: ["v2","v2","V3"]: must include at least one of v1, v1beta1`}},
		{"a bad CA bundle is allowed on create", webhook(&apiextensionsv1.WebhookClientConfig{Url: proto.String("https://x"), CaBundle: []byte("x")}, "v1"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCRD()
			c.Spec.Conversion = tt.c
			errorsEqual(t, ValidateCustomResourceDefinition(c, nil), tt.want...)
		})
	}
	if !strings.HasPrefix(validation.IsDNS1123Subdomain("B")[0], "a lowercase RFC 1123 subdomain") {
		t.Errorf("got %q, want apimachinery's subdomain message", validation.IsDNS1123Subdomain("B")[0])
	}
}
