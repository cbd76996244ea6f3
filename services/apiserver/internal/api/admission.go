package api

import (
	"context"
	"fmt"
	"slices"

	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/admission/defaultingressclass"
	"skiff.dev/services/apiserver/internal/admission/limitranger"
	"skiff.dev/services/apiserver/internal/admission/noderestriction"
	"skiff.dev/services/apiserver/internal/admission/podsecurity"
	"skiff.dev/services/apiserver/internal/admission/priority"
	"skiff.dev/services/apiserver/internal/admission/resourcequota"
	saadmission "skiff.dev/services/apiserver/internal/admission/serviceaccount"
	storageadmission "skiff.dev/services/apiserver/internal/admission/storage"
	"skiff.dev/services/apiserver/internal/admission/webhook"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/runtimeclass"
)

// buildAdmission makes the admission chain the configuration asks for,
// from the plugins built so far, over the stores they read.
func buildAdmission(cfg Config, stores map[*registry.Resource]*registry.Store, webhooks *webhook.Webhooks) (admission.Chain, error) {
	var runtimeClasses, limitRanges, quotas *registry.Store
	for res, st := range stores {
		switch res.Group + "/" + res.Plural {
		case "node.k8s.io/runtimeclasses":
			runtimeClasses = st
		case "/limitranges":
			limitRanges = st
		case "/resourcequotas":
			quotas = st
		}
	}
	if runtimeClasses == nil || limitRanges == nil || quotas == nil {
		return nil, fmt.Errorf("the kinds table lacks runtimeclasses, limitranges or resourcequotas for admission")
	}
	podSecurity, err := podsecurity.Plugin(storeOf(stores, "", "namespaces"), storeOf(stores, "", "pods"))
	if err != nil {
		return nil, err
	}
	available := []admission.Plugin{
		{Name: "NamespaceLifecycle", Validate: protectSystemNamespaces},
		limitranger.New(limitRanges).Plugin(),
		saadmission.Plugin(storeOf(stores, "", "serviceaccounts")),
		noderestriction.Plugin(),
		priority.New(storeOf(stores, "scheduling.k8s.io", "priorityclasses")).Plugin(),
		{Name: "RuntimeClass", Mutate: runtimeclass.Admit(runtimeClasses)},
		podSecurity,
		defaultingressclass.Plugin(storeOf(stores, "networking.k8s.io", "ingressclasses")),
		storageadmission.DefaultStorageClass(storeOf(stores, "storage.k8s.io", "storageclasses")),
		storageadmission.Protection(),
		storageadmission.Resize(storeOf(stores, "storage.k8s.io", "storageclasses")),
		resourcequota.New(quotas).Plugin(),
	}
	available = append(available, webhooks.Plugins()...)
	return admission.Build(available, cfg.EnableAdmissionPlugins, cfg.DisableAdmissionPlugins)
}

// storeOf is the store of a resource; every built-in kind has one.
func storeOf(stores map[*registry.Resource]*registry.Store, group, plural string) *registry.Store {
	for res, st := range stores {
		if res.Group == group && res.Plural == plural {
			return st
		}
	}
	panic(fmt.Sprintf("the kinds table lacks %s.%s", plural, group))
}

// immortalNamespaces may not be deleted, as Kubernetes' NamespaceLifecycle
// plugin keeps them. (Its other half, refusing objects in a namespace that
// is missing or terminating, is the registry's namespace check, which every
// namespaced kind runs, custom resources included.)
var immortalNamespaces = []string{"default", "kube-system", "kube-public"}

func protectSystemNamespaces(_ context.Context, w *registry.Write) error {
	if w.Operation != registry.OpDelete || w.Resource.Group != "" || w.Resource.Plural != "namespaces" || !slices.Contains(immortalNamespaces, w.Name) {
		return nil
	}
	return apierrors.NewForbidden(w.Resource.ErrorResource(), w.Name, "this namespace may not be deleted")
}

// newWebhooks makes the admission webhooks over the stores they read:
// their configurations, namespaces, and the Services and EndpointSlices
// that say where a webhook given by a service is served.
func newWebhooks(stores map[*registry.Resource]*registry.Store, versions func(group, resource string) []string) (*webhook.Webhooks, error) {
	find := func(group, plural string) registry.Backend {
		for res, st := range stores {
			if res.Group == group && res.Plural == plural {
				return st
			}
		}
		return nil
	}
	const ar = "admissionregistration.k8s.io"
	cfg := webhook.Config{
		ValidatingConfigurations: find(ar, "validatingwebhookconfigurations"),
		MutatingConfigurations:   find(ar, "mutatingwebhookconfigurations"),
		Namespaces:               find("", "namespaces"),
		Services: webhook.ServiceEndpoints{
			Services: find("", "services"), EndpointSlices: find("discovery.k8s.io", "endpointslices")},
		Versions: versions,
	}
	se := cfg.Services.(webhook.ServiceEndpoints)
	if cfg.ValidatingConfigurations == nil || cfg.MutatingConfigurations == nil || cfg.Namespaces == nil || se.Services == nil || se.EndpointSlices == nil {
		return nil, fmt.Errorf("the kinds table lacks what the admission webhooks read")
	}
	return webhook.New(cfg), nil
}

// servedVersions lists the versions of a resource the catalog serves now,
// for the webhooks' matchPolicy Equivalent.
func (a *API) servedVersions(group, resource string) []string {
	if a.Catalog == nil {
		return nil
	}
	var out []string
	for _, e := range a.Catalog.Snapshot().Entries {
		if e.Resource.Group == group && e.Resource.Plural == resource {
			out = append(out, e.Resource.Version)
		}
	}
	return out
}
