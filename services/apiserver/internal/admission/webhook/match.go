package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/labels"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/admission/webhook/conditions"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// attributes are a write as the webhooks see it.
type attributes struct {
	w         *registry.Write
	operation string
	group     string
	version   string
	resource  string
	kind      string
	// namespace is the object's; for a namespace's own update or delete
	// it is the namespace's name, as Kubernetes' request info makes it.
	namespace string
	name      string
	// nsLabels caches the namespace's labels for the namespace
	// selectors (nsRead tells whether they were read).
	nsLabels labels.Set
	nsRead   bool
	// user made the write; none for the server's own writes.
	user    auth.User
	hasUser bool
}

func newAttributes(ctx context.Context, w *registry.Write) *attributes {
	a := &attributes{
		w: w, operation: string(w.Operation),
		group: w.Resource.Group, version: w.Resource.Version, resource: w.Resource.Plural, kind: w.Resource.Kind,
		namespace: w.Namespace, name: w.Name,
	}
	if a.isNamespace() && w.Operation != registry.OpCreate {
		a.namespace = w.Name
	}
	// A create that asked for a generated name names nothing yet, as in
	// Kubernetes, where the name is generated after admission.
	if w.Operation == registry.OpCreate && w.Object != nil && object.Meta(w.Object).GetName() != w.Name {
		a.name = ""
	}
	a.user, a.hasUser = auth.UserFrom(ctx)
	return a
}

func (a *attributes) isNamespace() bool { return a.group == "" && a.resource == "namespaces" }

// exempt: the webhook and admission policy configurations themselves are
// never sent to webhooks, so a broken webhook cannot lock itself in.
func (a *attributes) exempt() bool {
	return a.group == "admissionregistration.k8s.io"
}

// invocation is a webhook a write matched, and as which resource: the
// request's own, or an equivalent version of it (matchPolicy Equivalent).
type invocation struct {
	hook    *hook
	version string
}

// matches decides whether h is called for the write: nil when not, or an
// error that refuses the write (a namespace that cannot be read, a
// selector that does not parse, a match condition that fails under
// failurePolicy Fail).
func (x *Webhooks) matches(ctx context.Context, h *hook, a *attributes) (*invocation, error) {
	version, ok := a.version, matchesRules(h, a, a.version)
	if !ok && h.equivalent && x.cfg.Versions != nil {
		for _, v := range x.cfg.Versions(a.group, a.resource) {
			if v != a.version && matchesRules(h, a, v) {
				version, ok = v, true
				break
			}
		}
	}
	if !ok {
		return nil, nil
	}
	if h.selectorErr != nil {
		return nil, apierrors.NewInternalError(h.selectorErr)
	}
	if !h.objSelector.Empty() && !matchesLabels(h.objSelector, a.w.Object) && !matchesLabels(h.objSelector, a.w.Old) {
		return nil, nil
	}
	if ok, err := x.matchesNamespace(ctx, h, a); !ok || err != nil {
		return nil, err
	}
	inv := &invocation{hook: h, version: version}
	if len(h.matchConditions) == 0 {
		return inv, nil
	}
	ok, err := matchesConditions(h, a, inv)
	switch {
	case err != nil && h.failOpen:
		return nil, nil
	case err != nil:
		return nil, apierrors.NewForbidden(a.w.Resource.ErrorResource(), a.name, err.Error())
	case !ok:
		return nil, nil
	}
	return inv, nil
}

func matchesConditions(h *hook, a *attributes, inv *invocation) (bool, error) {
	if h.conditionsErr != nil {
		return false, h.conditionsErr
	}
	obj, old, err := objectsJSON(a, inv.version)
	if err != nil {
		return false, err
	}
	req, err := requestJSON(a, inv, "", obj, old)
	if err != nil {
		return false, err
	}
	return conditions.Match(h.conditions, conditions.Input{Object: obj, OldObject: old, Request: req})
}

// matchesRules: any rule whose operations, group, version, resource (and
// subresource) and scope match the write.
func matchesRules(h *hook, a *attributes, version string) bool {
	for _, r := range h.rules {
		rule := r.GetRule()
		if matchesScope(rule.GetScope(), a) &&
			(slices.Contains(r.GetOperations(), "*") || slices.Contains(r.GetOperations(), a.operation)) &&
			exactOrWildcard(rule.GetApiGroups(), a.group) &&
			exactOrWildcard(rule.GetApiVersions(), version) &&
			matchesResource(rule.GetResources(), a.resource, a.w.Subresource) {
			return true
		}
	}
	return false
}

func exactOrWildcard(items []string, s string) bool {
	return slices.Contains(items, "*") || slices.Contains(items, s)
}

// matchesResource: "pods" is the object itself, "pods/status" its
// status, "pods/*" both and every other subresource, "*" every
// resource's object, "*/status" every status, "*/*" everything.
func matchesResource(resources []string, resource, subresource string) bool {
	for _, rs := range resources {
		res, sub, _ := strings.Cut(rs, "/")
		if (res == "*" || res == resource) && (sub == "*" || sub == subresource) {
			return true
		}
	}
	return false
}

// matchesScope: a namespace is cluster-scoped, whatever the namespace its
// request names.
func matchesScope(scope string, a *attributes) bool {
	switch scope {
	case "", "*":
		return true
	case "Namespaced":
		return !a.isNamespace() && a.namespace != ""
	case "Cluster":
		return a.isNamespace() || a.namespace == ""
	}
	return false
}

func matchesLabels(sel labels.Selector, obj proto.Message) bool {
	return obj != nil && sel.Matches(labels.Set(object.Meta(obj).GetLabels()))
}

// matchesNamespace: a cluster-scoped object (but a namespace) is always
// selected; otherwise the namespace's labels must match — a namespace's
// own from the object written (the stored one when it is deleted).
func (x *Webhooks) matchesNamespace(ctx context.Context, h *hook, a *attributes) (bool, error) {
	if a.namespace == "" && !a.isNamespace() {
		return true, nil
	}
	if h.nsSelector.Empty() {
		return true, nil
	}
	if a.isNamespace() && a.w.Subresource == "" && a.w.Object != nil {
		return h.nsSelector.Matches(labels.Set(object.Meta(a.w.Object).GetLabels())), nil
	}
	if !a.nsRead {
		obj, err := x.cfg.Namespaces.Get(ctx, "", a.namespace, registry.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return false, err
			}
			return false, apierrors.NewInternalError(err)
		}
		ns, ok := obj.(*corev1.Namespace)
		if !ok {
			return false, apierrors.NewInternalError(fmt.Errorf("namespace %q is a %T", a.namespace, obj))
		}
		a.nsLabels, a.nsRead = ns.GetMetadata().GetLabels(), true
	}
	return h.nsSelector.Matches(a.nsLabels), nil
}
