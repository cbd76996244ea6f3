package validation

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
)

type (
	crdVersionT = apiextensionsv1.CustomResourceDefinitionVersion
	props       = apiextensionsv1.JSONSchemaProps
)

func object(properties map[string]*props) *props {
	return &props{Type: "object", Properties: properties}
}

func validCRD() *apiextensionsv1.CustomResourceDefinition {
	crd := &apiextensionsv1.CustomResourceDefinition{
		Metadata: &metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: &apiextensionsv1.CustomResourceDefinitionSpec{Group: "example.com", Scope: "Namespaced",
			Names: &apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: "Widget", ShortNames: []string{"wd"}, Categories: []string{"all"}},
			Versions: []*crdVersionT{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenApiV3Schema: object(map[string]*props{"spec": object(nil)})}}}},
	}
	defaults.CustomResourceDefinition(crd)
	return crd
}

// secondVersion adds a served version v2 like v1.
func secondVersion(crd *apiextensionsv1.CustomResourceDefinition) *crdVersionT {
	v := proto.Clone(crd.Spec.Versions[0]).(*crdVersionT)
	v.Name, v.Storage = "v2", false
	crd.Spec.Versions = append(crd.Spec.Versions, v)
	return v
}

// errorsEqual fails the test unless errs render exactly as want, in order.
func errorsEqual(t *testing.T, errs field.ErrorList, want ...string) {
	t.Helper()
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Error()
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func dns1035(v string) string { return strings.Join(validation.IsDNS1035Label(v), ",") }

func TestValidateCustomResourceDefinition(t *testing.T) {
	type crd = apiextensionsv1.CustomResourceDefinition
	status := func(c *crd) {
		c.Spec.Versions[0].Subresources = &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}}
	}
	root := func(c *crd) *props { return c.Spec.Versions[0].Schema.OpenApiV3Schema }
	storedGone := "missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration " +
		"ensures no data remains persisted in v1 and removes v1 from status.storedVersions"
	tests := []struct {
		name   string
		change func(*crd)
		want   []string
	}{
		{"valid", func(*crd) {}, nil},
		{"name is not plural.group", func(c *crd) { c.Metadata.Name = "gadgets.example.com" },
			[]string{`metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group`}},
		{"no group", func(c *crd) { c.Spec.Group, c.Metadata.Name = "", "widgets." }, []string{"spec.group: Required value"}},
		{"group without a dot", func(c *crd) { c.Spec.Group, c.Metadata.Name = "example", "widgets.example" },
			[]string{`spec.group: Invalid value: "example": should be a domain with at least one dot`}},
		{"group not a subdomain", func(c *crd) { c.Spec.Group, c.Metadata.Name = "Example.com", "widgets.Example.com" },
			[]string{`spec.group: Invalid value: "Example.com": ` + strings.Join(validation.IsDNS1123Subdomain("Example.com"), ",")}},
		{"no scope", func(c *crd) { c.Spec.Scope = "" }, []string{"spec.scope: Required value"}},
		{"unknown scope", func(c *crd) { c.Spec.Scope = "Global" },
			[]string{`spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"`}},
		{"no schema", func(c *crd) { c.Spec.Versions[0].Schema = nil }, []string{"spec.versions[0].schema.openAPIV3Schema: Required value"}},
		{"no versions", func(c *crd) { c.Spec.Versions = nil }, []string{
			"spec.versions: Invalid value: must have exactly one version marked as storage version",
			`status.storedVersions[0]: Invalid value: "v1": ` + storedGone}},
		{"two versions of one name", func(c *crd) { secondVersion(c).Name = "v1" },
			[]string{"spec.versions: Invalid value: must contain unique version names"}},
		{"two storage versions", func(c *crd) { secondVersion(c).Storage = true }, []string{
			"spec.versions: Invalid value: must have exactly one version marked as storage version",
			`status.storedVersions: Invalid value: ["v1"]: must have the storage version v2`}},
		{"version name", func(c *crd) { c.Spec.Versions[0].Name, c.Status.StoredVersions = "V1", []string{"V1"} }, []string{
			`spec.versions[0].name: Invalid value: "V1": ` + dns1035("V1"),
			`spec.version: Invalid value: "V1": ` + dns1035("V1")}},
		{"no version name", func(c *crd) { c.Spec.Versions[0].Name, c.Status.StoredVersions = "", []string{""} },
			[]string{`spec.versions[0].name: Invalid value: "": ` + dns1035("")}},
		{"no kind", func(c *crd) { c.Spec.Names.Kind = "" }, []string{"spec.names.kind: Required value"}},
		{"kind", func(c *crd) { c.Spec.Names.Kind, c.Spec.Names.ListKind = "Wid_get", "WidgetList" },
			[]string{`spec.names.kind: Invalid value: "Wid_get": may have mixed case, but should otherwise match: ` + dns1035("wid_get")}},
		{"list kind is the kind", func(c *crd) { c.Spec.Names.ListKind = "Widget" },
			[]string{`spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same`}},
		{"plural", func(c *crd) { c.Spec.Names.Plural, c.Metadata.Name = "wid.gets", "wid.gets.example.com" },
			[]string{`spec.names.plural: Invalid value: "wid.gets": ` + dns1035("wid.gets")}},
		{"empty short name", func(c *crd) { c.Spec.Names.ShortNames = []string{""} },
			[]string{`spec.names.shortNames[0]: Invalid value: "": ` + dns1035("")}},
		{"category", func(c *crd) { c.Spec.Names.Categories = []string{"all", "All"} },
			[]string{`spec.names.categories[1]: Invalid value: "All": ` + dns1035("All")}},
		{"no stored versions", func(c *crd) { c.Status.StoredVersions = nil },
			[]string{"status.storedVersions: Invalid value: null: must have at least one stored version"}},
		{"accepted names", func(c *crd) {
			c.Status.AcceptedNames = &apiextensionsv1.CustomResourceDefinitionNames{Plural: "Widgets"}
		},
			[]string{`status.acceptedNames.plural: Invalid value: "Widgets": ` + dns1035("Widgets")}},
		{"a shared schema is checked at spec.validation", func(c *crd) { status(c); root(c).Type = "array" },
			[]string{`spec.validation.openAPIV3Schema.type: Invalid value: "array": only "object" is allowed as the type at the root of the schema if the status subresource is enabled`}},
		{"a version's own schema", func(c *crd) {
			v2 := secondVersion(c)
			v2.Subresources = &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}}
			v2.Schema.OpenApiV3Schema.Type = "array"
		}, []string{`spec.versions[1].schema.openAPIV3Schema.type: Invalid value: "array": only "object" is allowed as the type at the root of the schema if the status subresource is enabled`}},
		{"root fields with status", func(c *crd) {
			status(c)
			root(c).AdditionalProperties = &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true}
		},
			[]string{"spec.validation.openAPIV3Schema: Invalid value: only " +
				"[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems " +
				"UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] " +
				"fields are allowed at the root of the schema if the status subresource is enabled"}},
		{"nullable root", func(c *crd) { root(c).Nullable = true },
			[]string{"spec.validation.openAPIV3Schema.nullable: Forbidden: nullable cannot be true at the root"}},
		{"deprecation warning of a served version", func(c *crd) { c.Spec.Versions[0].DeprecationWarning = proto.String("old") },
			[]string{`spec.versions[0].deprecationWarning: Invalid value: "old": can only be set for deprecated versions`}},
		{"empty deprecation warning", func(c *crd) {
			c.Spec.Versions[0].Deprecated, c.Spec.Versions[0].DeprecationWarning = true, proto.String("")
		},
			[]string{`spec.versions[0].deprecationWarning: Invalid value: "": must not be an empty string`}},
		{"unprintable deprecation warning", func(c *crd) {
			c.Spec.Versions[0].Deprecated, c.Spec.Versions[0].DeprecationWarning = true, proto.String("a\tb")
		},
			[]string{`spec.versions[0].deprecationWarning: Invalid value: "a\tb": must only contain printable UTF-8 characters; non-printable character found at index 1`}},
		{"preserveUnknownFields", func(c *crd) { c.Spec.PreserveUnknownFields = true },
			[]string{"spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"}},
		{"preserveUnknownFields with defaults and a webhook", func(c *crd) {
			c.Spec.PreserveUnknownFields = true
			root(c).Properties["spec"].Properties = map[string]*props{"size": {Type: "integer", Default: &apiextensionsv1.JSON{Raw: []byte("1")}}}
			c.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: "Webhook", Webhook: &apiextensionsv1.WebhookConversion{
				ClientConfig: &apiextensionsv1.WebhookClientConfig{Url: proto.String("https://conv.example.com")}, ConversionReviewVersions: []string{"v1"}}}
		}, []string{
			"spec.preserveUnknownFields: Invalid value: true: must be false in order to use defaults in the schema",
			`spec.conversion.strategy: Invalid value: "Webhook": must be None if spec.preserveUnknownFields is true`,
			"spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"}},
		{"protected group without approval", func(c *crd) { c.Spec.Group, c.Metadata.Name = "widgets.k8s.io", "widgets.widgets.k8s.io" },
			[]string{`metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111`}},
		{"protected group with a bad approval", func(c *crd) {
			c.Spec.Group, c.Metadata.Name = "kubernetes.io", "widgets.kubernetes.io"
			c.Metadata.Annotations = map[string]string{apiApprovalAnnotation: "yes"}
		}, []string{`metadata.annotations[api-approved.kubernetes.io]: Invalid value: "yes": protected groups must have approval annotation "api-approved.kubernetes.io" with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111`}},
		{"protected group approved", func(c *crd) {
			c.Spec.Group, c.Metadata.Name = "x.k8s.io", "widgets.x.k8s.io"
			c.Metadata.Annotations = map[string]string{apiApprovalAnnotation: "https://github.com/kubernetes/enhancements/pull/1111"}
		}, nil},
		{"protected group unapproved", func(c *crd) {
			c.Spec.Group, c.Metadata.Name = "x.k8s.io", "widgets.x.k8s.io"
			c.Metadata.Annotations = map[string]string{apiApprovalAnnotation: "unapproved, experimental"}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCRD()
			tt.change(c)
			errorsEqual(t, ValidateCustomResourceDefinition(c, nil), tt.want...)
		})
	}
}

func TestCustomResourceDefinitionSchemaCheck(t *testing.T) {
	tests := []struct {
		name   string
		change func(*apiextensionsv1.CustomResourceDefinition)
		want   []string
	}{
		{"one version", func(*apiextensionsv1.CustomResourceDefinition) {}, []string{"spec.validation.openAPIV3Schema"}},
		{"versions sharing a schema", func(c *apiextensionsv1.CustomResourceDefinition) { secondVersion(c) }, []string{"spec.validation.openAPIV3Schema"}},
		{"versions with their own", func(c *apiextensionsv1.CustomResourceDefinition) {
			secondVersion(c).Schema.OpenApiV3Schema.Description = "v2"
		},
			[]string{"spec.versions[0].schema.openAPIV3Schema", "spec.versions[1].schema.openAPIV3Schema"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCRD()
			tt.change(c)
			var paths []string
			check := func(s *apiextensionsv1.JSONSchemaProps, p *field.Path) field.ErrorList {
				paths = append(paths, p.String())
				return field.ErrorList{field.Required(p.Child("type"), "")}
			}
			errs := ValidateCustomResourceDefinition(c, check)
			if !slices.Equal(paths, tt.want) {
				t.Errorf("got checks at %v, want %v", paths, tt.want)
			}
			var want []string
			for _, p := range tt.want {
				want = append(want, p+".type: Required value")
			}
			errorsEqual(t, errs, want...)
		})
	}
}
