package kinds

import (
	admissionregistrationv1 "skiff.dev/api/admissionregistration/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

const admissionRegistration = "admissionregistration.k8s.io"

func validatingWebhookConfigurations() *registry.Resource {
	return &registry.Resource{
		Group: admissionRegistration, Version: "v1", Plural: "validatingwebhookconfigurations", Singular: "validatingwebhookconfiguration",
		Kind: "ValidatingWebhookConfiguration", ListKind: "ValidatingWebhookConfigurationList", Categories: []string{"api-extensions"},
		New:      newOf[admissionregistrationv1.ValidatingWebhookConfiguration](),
		NewList:  newOf[admissionregistrationv1.ValidatingWebhookConfigurationList](),
		Strategy: validatingWebhookConfigurationStrategy,
	}
}

func mutatingWebhookConfigurations() *registry.Resource {
	return &registry.Resource{
		Group: admissionRegistration, Version: "v1", Plural: "mutatingwebhookconfigurations", Singular: "mutatingwebhookconfiguration",
		Kind: "MutatingWebhookConfiguration", ListKind: "MutatingWebhookConfigurationList", Categories: []string{"api-extensions"},
		New:      newOf[admissionregistrationv1.MutatingWebhookConfiguration](),
		NewList:  newOf[admissionregistrationv1.MutatingWebhookConfigurationList](),
		Strategy: mutatingWebhookConfigurationStrategy,
	}
}

// The webhook configurations: a new one must meet every rule, an update
// the rules the stored one met (so configurations stored by older
// versions, with side effects or v1beta1 reviews only, stay writable).
var (
	validatingWebhookConfigurationStrategy = registry.Strategy{
		Default:        mutate(defaults.ValidatingWebhookConfiguration),
		ValidateCreate: check(validate.ValidateValidatingWebhookConfiguration),
		ValidateUpdate: checkUpdate(validate.ValidateValidatingWebhookConfigurationUpdate),
	}
	mutatingWebhookConfigurationStrategy = registry.Strategy{
		Default:        mutate(defaults.MutatingWebhookConfiguration),
		ValidateCreate: check(validate.ValidateMutatingWebhookConfiguration),
		ValidateUpdate: checkUpdate(validate.ValidateMutatingWebhookConfigurationUpdate),
	}
)
