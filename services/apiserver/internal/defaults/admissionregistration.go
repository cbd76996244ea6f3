package defaults

import (
	"google.golang.org/protobuf/proto"

	admissionregistrationv1 "skiff.dev/api/admissionregistration/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// ValidatingWebhookConfiguration: each webhook fails closed, matches
// equivalent resources, selects every namespace and object, waits 10
// seconds, and its rules apply at every scope, as
// admissionregistration/v1 defaults them; a service reference's port is
// 443.
func ValidatingWebhookConfiguration(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
	for _, w := range c.GetWebhooks() {
		webhookCommon(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds)
		webhookTarget(w.GetClientConfig(), w.GetRules())
	}
}

// MutatingWebhookConfiguration: as ValidatingWebhookConfiguration, and a
// webhook is not called again after later webhooks (reinvocationPolicy
// Never).
func MutatingWebhookConfiguration(c *admissionregistrationv1.MutatingWebhookConfiguration) {
	for _, w := range c.GetWebhooks() {
		webhookCommon(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds)
		webhookTarget(w.GetClientConfig(), w.GetRules())
		if w.ReinvocationPolicy == nil {
			w.ReinvocationPolicy = proto.String("Never")
		}
	}
}

func webhookCommon(failure, match **string, nsSel, objSel **metav1.LabelSelector, timeout **int32) {
	if *failure == nil {
		*failure = proto.String("Fail")
	}
	if *match == nil {
		*match = proto.String("Equivalent")
	}
	if *nsSel == nil {
		*nsSel = &metav1.LabelSelector{}
	}
	if *objSel == nil {
		*objSel = &metav1.LabelSelector{}
	}
	if *timeout == nil {
		*timeout = proto.Int32(10)
	}
}

func webhookTarget(cc *admissionregistrationv1.WebhookClientConfig, rules []*admissionregistrationv1.RuleWithOperations) {
	if svc := cc.GetService(); svc != nil && svc.Port == nil {
		svc.Port = proto.Int32(443)
	}
	for _, r := range rules {
		if r.Rule == nil {
			r.Rule = &admissionregistrationv1.Rule{}
		}
		if r.Rule.Scope == nil {
			r.Rule.Scope = proto.String("*")
		}
	}
}
