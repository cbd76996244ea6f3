package api

import (
	"context"
	"fmt"
	"slices"

	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/admission/noderestriction"
	"skiff.dev/services/apiserver/internal/admission/podsecurity"
	saadmission "skiff.dev/services/apiserver/internal/admission/serviceaccount"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/runtimeclass"
)

// buildAdmission makes the admission chain the configuration asks for,
// from the plugins built so far, over the stores they read.
func buildAdmission(cfg Config, stores map[*registry.Resource]*registry.Store) (admission.Chain, error) {
	var runtimeClasses *registry.Store
	for res, st := range stores {
		if res.Group == "node.k8s.io" && res.Plural == "runtimeclasses" {
			runtimeClasses = st
		}
	}
	if runtimeClasses == nil {
		return nil, fmt.Errorf("the kinds table lacks runtimeclasses for RuntimeClass admission")
	}
	podSecurity, err := podsecurity.Plugin(storeOf(stores, "", "namespaces"), storeOf(stores, "", "pods"))
	if err != nil {
		return nil, err
	}
	available := []admission.Plugin{
		{Name: "NamespaceLifecycle", Validate: protectSystemNamespaces},
		saadmission.Plugin(storeOf(stores, "", "serviceaccounts")),
		noderestriction.Plugin(),
		{Name: "RuntimeClass", Mutate: runtimeclass.Admit(runtimeClasses)},
		podSecurity,
	}
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
