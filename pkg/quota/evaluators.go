package quota

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
)

// Operation is the write being charged.
type Operation string

// The writes quota looks at.
const (
	Create Operation = "CREATE"
	Update Operation = "UPDATE"
)

// Evaluator measures one resource's objects.
type Evaluator interface {
	// GroupResource is the resource measured ("" for the core group).
	GroupResource() (group, resource string)
	// Handles reports whether a write can change what the object uses.
	Handles(op Operation, subresource string, obj, old proto.Message) bool
	// MatchingResources are the quota resource names among names that
	// the evaluator charges.
	MatchingResources(names []string) []string
	// MatchesScope reports whether obj is in a scope (a quota's scope is
	// the requirement Exists on it).
	MatchesScope(s *corev1.ScopedResourceSelectorRequirement, obj proto.Message) (bool, error)
	// Constraints refuses an object that the quota's required resources
	// cannot be measured on (a container without a cpu request).
	Constraints(required []string, obj proto.Message) error
	// Usage is what obj uses.
	Usage(obj proto.Message, now time.Time) (List, error)
}

// legacyCounts are the old names of some object counts, which quotas
// still use: "configmaps" counts what "count/configmaps" does.
var legacyCounts = map[string]string{
	"configmaps": "configmaps", "resourcequotas": "resourcequotas",
	"replicationcontrollers": "replicationcontrollers", "secrets": "secrets",
}

// ObjectCountName is the quota resource that counts a resource's objects:
// count/<resource> in the core group, count/<resource>.<group> in others.
func ObjectCountName(group, resource string) string {
	if group == "" {
		return "count/" + resource
	}
	return "count/" + resource + "." + group
}

// For is the evaluator of a resource: pods and services have their own,
// any other resource is counted.
func For(group, resource string) Evaluator {
	if group == "" {
		switch resource {
		case "pods":
			return pods{}
		case "services":
			return services{}
		}
	}
	names := []string{ObjectCountName(group, resource)}
	if alias, ok := legacyCounts[resource]; ok && group == "" {
		names = append(names, alias)
	}
	return counter{group: group, resource: resource, names: names}
}

// Evaluators are the evaluators that may charge the quota resources
// named: those of pods and services, of the legacy counts, and of each
// resource counted by a count/<resource>[.<group>] name.
func Evaluators(names []string) []Evaluator {
	out := []Evaluator{pods{}, services{}}
	for _, r := range slices.Sorted(maps.Keys(legacyCounts)) {
		out = append(out, For("", r))
	}
	seen := map[string]bool{}
	for _, e := range out {
		_, r := e.GroupResource()
		seen[ObjectCountName("", r)] = true
	}
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, "count/")
		if !ok || seen[name] || rest == "" {
			continue
		}
		seen[name] = true
		resource, group, _ := strings.Cut(rest, ".")
		out = append(out, For(group, resource))
	}
	return out
}

// ScopeSelectors are a quota's filters: each of its scopes as the
// requirement Exists, then its scope selector's requirements.
func ScopeSelectors(q *corev1.ResourceQuota) []*corev1.ScopedResourceSelectorRequirement {
	var out []*corev1.ScopedResourceSelectorRequirement
	for _, s := range q.GetSpec().GetScopes() {
		out = append(out, &corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: "Exists"})
	}
	return append(out, q.GetSpec().GetScopeSelector().GetMatchExpressions()...)
}

// Matches reports whether a quota constrains obj: its enforced hard
// limits (status.hard) name a resource the evaluator charges, and obj is
// in every one of its scopes.
func Matches(e Evaluator, q *corev1.ResourceQuota, obj proto.Message) (bool, error) {
	if len(e.MatchingResources(FromProto(q.GetStatus().GetHard()).Names())) == 0 {
		return false, nil
	}
	for _, s := range ScopeSelectors(q) {
		ok, err := e.MatchesScope(s, obj)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Lister lists the objects of a resource in a namespace.
type Lister func(group, resource, namespace string) ([]proto.Message, error)

// CalculateUsage measures what the objects of a quota's namespace that
// are in its scopes use of the resources its spec.hard names and some
// evaluator charges. A resource whose objects could not be listed is left
// out of the result, and the error says why.
func CalculateUsage(q *corev1.ResourceQuota, list Lister, now time.Time) (List, error) {
	hard := FromProto(q.GetSpec().GetHard()).Names()
	evaluators := Evaluators(hard)
	var potential []string
	for _, e := range evaluators {
		potential = append(potential, e.MatchingResources(hard)...)
	}
	matched := Intersection(hard, potential)
	selectors := ScopeSelectors(q)
	var errs []error
	used := List{}
	for _, e := range evaluators {
		names := e.MatchingResources(matched)
		if len(names) == 0 {
			continue
		}
		got, err := usageOf(e, names, selectors, q.GetMetadata().GetNamespace(), list, now)
		if err != nil {
			errs = append(errs, err)
			matched = slices.DeleteFunc(matched, func(n string) bool { return slices.Contains(names, n) })
			continue
		}
		used = Add(used, got)
	}
	return Mask(used, matched), errors.Join(errs...)
}

// usageOf sums what the objects of e's resource in the selectors' scopes
// use; each of names is present, at zero if nothing uses it.
func usageOf(e Evaluator, names []string, selectors []*corev1.ScopedResourceSelectorRequirement, namespace string, list Lister, now time.Time) (List, error) {
	used := List{}
	for _, n := range names {
		used[n] = resource.Quantity{Format: resource.DecimalSI}
	}
	group, res := e.GroupResource()
	objs, err := list(group, res, namespace)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", ObjectCountName(group, res), err)
	}
	for _, obj := range objs {
		in := true
		for _, s := range selectors {
			ok, err := e.MatchesScope(s, obj)
			if err != nil {
				return nil, err
			}
			in = in && ok
		}
		if !in {
			continue
		}
		u, err := e.Usage(obj, now)
		if err != nil {
			return nil, err
		}
		used = Add(used, u)
	}
	return used, nil
}

// services is the evaluator of Services: their count, and the node ports
// and load balancers they take, which change with their type.
type services struct{}

var serviceResources = []string{"count/services", "services", "services.nodeports", "services.loadbalancers"}

func (services) GroupResource() (string, string) { return "", "services" }

func (services) Handles(op Operation, subresource string, _, _ proto.Message) bool {
	return subresource == "" && (op == Create || op == Update)
}

func (services) MatchingResources(names []string) []string {
	return Intersection(names, serviceResources)
}

func (services) MatchesScope(*corev1.ScopedResourceSelectorRequirement, proto.Message) (bool, error) {
	return false, nil
}

func (services) Constraints([]string, proto.Message) error { return nil }

// Usage: a NodePort Service takes a node port per port, a LoadBalancer
// one too (only the ports that name one when it allocates none
// itself) and a load balancer.
func (services) Usage(obj proto.Message, _ time.Time) (List, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, fmt.Errorf("expected a Service, got %T", obj)
	}
	count := func(n int) resource.Quantity { return *resource.NewQuantity(int64(n), resource.DecimalSI) }
	out := List{
		"count/services": count(1), "services": count(1),
		"services.loadbalancers": {Format: resource.DecimalSI}, "services.nodeports": {Format: resource.DecimalSI},
	}
	ports := svc.GetSpec().GetPorts()
	switch svc.GetSpec().GetType() {
	case "NodePort":
		out["services.nodeports"] = count(len(ports))
	case "LoadBalancer":
		if a := svc.GetSpec().AllocateLoadBalancerNodePorts; a != nil && !*a {
			n := 0
			for _, p := range ports {
				if p.GetNodePort() != 0 {
					n++
				}
			}
			out["services.nodeports"] = count(n)
		} else {
			out["services.nodeports"] = count(len(ports))
		}
		out["services.loadbalancers"] = count(1)
	}
	return out, nil
}

// ServiceQuotaType is the type of a Service as quota sees it: NodePort,
// LoadBalancer, or "" for the types that take neither.
func ServiceQuotaType(svc *corev1.Service) string {
	switch t := svc.GetSpec().GetType(); t {
	case "NodePort", "LoadBalancer":
		return t
	}
	return ""
}

// counter is the evaluator that counts a resource's objects.
type counter struct {
	group, resource string
	names           []string
}

func (c counter) GroupResource() (string, string) { return c.group, c.resource }

func (counter) Handles(op Operation, subresource string, _, _ proto.Message) bool {
	return subresource == "" && op == Create
}

func (c counter) MatchingResources(names []string) []string { return Intersection(names, c.names) }

func (counter) MatchesScope(*corev1.ScopedResourceSelectorRequirement, proto.Message) (bool, error) {
	return false, nil
}

func (counter) Constraints([]string, proto.Message) error { return nil }

func (c counter) Usage(proto.Message, time.Time) (List, error) {
	out := List{}
	for _, n := range c.names {
		out[n] = *resource.NewQuantity(1, resource.DecimalSI)
	}
	return out, nil
}
