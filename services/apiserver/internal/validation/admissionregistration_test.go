package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	admissionregistrationv1 "skiff.dev/api/admissionregistration/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
)

// goodValidating is a webhook that passes, defaulted as the registry
// would before validating.
func goodValidating() *admissionregistrationv1.ValidatingWebhook {
	return &admissionregistrationv1.ValidatingWebhook{
		Name:         "deny.example.com",
		ClientConfig: &admissionregistrationv1.WebhookClientConfig{Url: proto.String("https://hooks.example.com/deny")},
		Rules: []*admissionregistrationv1.RuleWithOperations{{Operations: []string{"CREATE"},
			Rule: &admissionregistrationv1.Rule{ApiGroups: []string{""}, ApiVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
		SideEffects:             proto.String("None"),
		AdmissionReviewVersions: []string{"v1"},
	}
}

func validating(hooks ...*admissionregistrationv1.ValidatingWebhook) *admissionregistrationv1.ValidatingWebhookConfiguration {
	c := &admissionregistrationv1.ValidatingWebhookConfiguration{Metadata: &metav1.ObjectMeta{Name: "c"}, Webhooks: hooks}
	defaults.ValidatingWebhookConfiguration(c)
	return c
}

func TestValidateValidatingWebhookConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(w *admissionregistrationv1.ValidatingWebhook)
		want   []string
	}{
		{"good", func(*admissionregistrationv1.ValidatingWebhook) {}, nil},
		{"a service", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig = &admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
				Namespace: "ns", Name: "hook", Path: proto.String("/validate"), Port: proto.Int32(8443)}}
		}, nil},
		{"a two-segment name", func(w *admissionregistrationv1.ValidatingWebhook) { w.Name = "example.com" },
			[]string{`webhooks[0].name: Invalid value: "example.com": should be a domain with at least three segments separated by dots`}},
		{"no name", func(w *admissionregistrationv1.ValidatingWebhook) { w.Name = "" },
			[]string{`webhooks[0].name: Required value`}},
		{"url and service", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig.Service = &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "hook"}
		}, []string{`webhooks[0].clientConfig: Required value: exactly one of url or service is required`}},
		{"an http url", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig.Url = proto.String("http://hooks.example.com?x=1")
		},
			[]string{`webhooks[0].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme; desired format: https://host[/path]`,
				`webhooks[0].clientConfig.url: Invalid value: "x=1": query parameters are not permitted in the URL`}},
		{"a bad service", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig = &admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
				Path: proto.String("validate"), Port: proto.Int32(70000)}}
		}, []string{`webhooks[0].clientConfig.service.name: Required value`, `webhooks[0].clientConfig.service.namespace: Required value`,
			`webhooks[0].clientConfig.service.port: Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive`,
			`webhooks[0].clientConfig.service.path: Invalid value: "validate": must start with a '/'`}},
		{"side effects Some", func(w *admissionregistrationv1.ValidatingWebhook) { w.SideEffects = proto.String("Some") },
			[]string{`webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"`}},
		{"no side effects", func(w *admissionregistrationv1.ValidatingWebhook) { w.SideEffects = nil },
			[]string{`webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun`}},
		{"a long timeout", func(w *admissionregistrationv1.ValidatingWebhook) { w.TimeoutSeconds = proto.Int32(31) },
			[]string{`webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds`}},
		{"policies", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.FailurePolicy, w.MatchPolicy = proto.String("Maybe"), proto.String("Close")
		}, []string{`webhooks[0].failurePolicy: Unsupported value: "Maybe": supported values: "Fail", "Ignore"`,
			`webhooks[0].matchPolicy: Unsupported value: "Close": supported values: "Equivalent", "Exact"`}},
		{"review versions without v1", func(w *admissionregistrationv1.ValidatingWebhook) { w.AdmissionReviewVersions = []string{"v2", "v2"} },
			[]string{`webhooks[0].admissionReviewVersions[1]: Invalid value: "v2": duplicate version`,
				`webhooks[0].admissionReviewVersions: Invalid value: ["v2","v2"]: must include at least one of v1, v1beta1`}},
		{"no review versions", func(w *admissionregistrationv1.ValidatingWebhook) { w.AdmissionReviewVersions = nil },
			[]string{`webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1`}},
		{"bad rules", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.Rules = []*admissionregistrationv1.RuleWithOperations{{Operations: []string{"*", "PATCH"},
				Rule: &admissionregistrationv1.Rule{ApiGroups: []string{"*", "apps"}, Resources: []string{"pods/*", "pods/status", "*/*"},
					Scope: proto.String("Everywhere")}}}
		}, []string{
			`webhooks[0].rules[0].operations: Invalid value: ["*","PATCH"]: if '*' is present, must not specify other operations`,
			`webhooks[0].rules[0].operations[1]: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"`,
			`webhooks[0].rules[0].apiGroups: Invalid value: ["*","apps"]: if '*' is present, must not specify other API groups`,
			`webhooks[0].rules[0].apiVersions: Required value`,
			`webhooks[0].rules[0].resources[1]: Invalid value: "pods/status": if 'pods/*' is present, must not specify pods/status`,
			`webhooks[0].rules[0].resources: Invalid value: ["pods/*","pods/status","*/*"]: if '*/*' is present, must not specify other resources`,
			`webhooks[0].rules[0].scope: Unsupported value: "Everywhere": supported values: "*", "Cluster", "Namespaced"`,
		}},
		{"a wildcard beside a resource", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.Rules[0].Rule.Resources = []string{"*", "pods"}
		}, []string{`webhooks[0].rules[0].resources: Invalid value: ["*","pods"]: if '*' is present, must not specify other resources without subresources`}},
		{"a bad selector", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ObjectSelector = &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a", Operator: "In"}}}
		}, []string{`webhooks[0].objectSelector.matchExpressions[0].values: Required value: must be specified when ` + "`operator`" + ` is 'In' or 'NotIn'`}},
		{"match conditions", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.MatchConditions = []*admissionregistrationv1.MatchCondition{
				{Name: "ok", Expression: `object.metadata.name != "x"`},
				{Name: "ok", Expression: `object.metadata.name`},
				{Name: "bad name!", Expression: " "},
			}
		}, []string{
			`webhooks[0].matchConditions[1].expression: Invalid value: "object.metadata.name": must evaluate to bool but got dyn`,
			`webhooks[0].matchConditions[1].name: Duplicate value: "ok"`,
			`webhooks[0].matchConditions[2].expression: Required value`,
			`webhooks[0].matchConditions[2].name: Invalid value: "bad name!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := goodValidating()
			tc.change(w)
			expectMessages(t, ValidateValidatingWebhookConfiguration(validating(w)), tc.want...)
		})
	}
	t.Run("duplicate names", func(t *testing.T) {
		expectMessages(t, ValidateValidatingWebhookConfiguration(validating(goodValidating(), goodValidating())),
			`webhooks[1].name: Duplicate value: "deny.example.com"`)
	})
	t.Run("defaults", func(t *testing.T) {
		c := validating(goodValidating())
		w := c.GetWebhooks()[0]
		if w.GetFailurePolicy() != "Fail" || w.GetMatchPolicy() != "Equivalent" || w.GetTimeoutSeconds() != 10 ||
			w.GetNamespaceSelector() == nil || w.GetObjectSelector() == nil || w.GetRules()[0].GetRule().GetScope() != "*" {
			t.Errorf("defaulted to %v", w)
		}
	})
}

// An update keeps what the stored configuration already had: side
// effects and duplicate names stay allowed while the old one had them.
func TestValidateWebhookConfigurationUpdate(t *testing.T) {
	some := goodValidating()
	some.SideEffects = proto.String("Some")
	old := validating(some, some)
	next := validating(proto.Clone(some).(*admissionregistrationv1.ValidatingWebhook), proto.Clone(some).(*admissionregistrationv1.ValidatingWebhook))
	expectMessages(t, ValidateValidatingWebhookConfigurationUpdate(next, old))
	expectMessages(t, ValidateValidatingWebhookConfigurationUpdate(next, validating(goodValidating())),
		`webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"`,
		`webhooks[1].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"`,
		`webhooks[1].name: Duplicate value: "deny.example.com"`)
}

func TestValidateMutatingWebhookConfiguration(t *testing.T) {
	w := &admissionregistrationv1.MutatingWebhook{
		Name:                    "label.example.com",
		ClientConfig:            &admissionregistrationv1.WebhookClientConfig{Url: proto.String("https://hooks.example.com/label")},
		SideEffects:             proto.String("NoneOnDryRun"),
		AdmissionReviewVersions: []string{"v1beta1", "v1"},
		ReinvocationPolicy:      proto.String("Sometimes"),
	}
	c := &admissionregistrationv1.MutatingWebhookConfiguration{Metadata: &metav1.ObjectMeta{Name: "c"},
		Webhooks: []*admissionregistrationv1.MutatingWebhook{w}}
	defaults.MutatingWebhookConfiguration(c)
	expectMessages(t, ValidateMutatingWebhookConfiguration(c),
		`webhooks[0].reinvocationPolicy: Unsupported value: "Sometimes": supported values: "IfNeeded", "Never"`)
	w.ReinvocationPolicy = nil
	defaults.MutatingWebhookConfiguration(c)
	if w.GetReinvocationPolicy() != "Never" {
		t.Errorf("reinvocationPolicy defaulted to %q", w.GetReinvocationPolicy())
	}
	expectMessages(t, ValidateMutatingWebhookConfiguration(c))
}
