package escalation

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// compact merges the verbs of missing rules that name the same single
// group and resource and no names, as Kubernetes compacts them before
// listing them.
func compact(rules []*rbacv1.PolicyRule) []*rbacv1.PolicyRule {
	var out []*rbacv1.PolicyRule
	simple := map[string]*rbacv1.PolicyRule{}
	for _, r := range rules {
		if len(r.GetApiGroups()) != 1 || len(r.GetResources()) != 1 || len(r.GetResourceNames()) > 0 || len(r.GetNonResourceUrls()) > 0 {
			out = append(out, r)
			continue
		}
		key := r.GetApiGroups()[0] + "\x00" + r.GetResources()[0]
		if merged, ok := simple[key]; ok {
			for _, v := range r.GetVerbs() {
				if !slices.Contains(merged.Verbs, v) {
					merged.Verbs = append(merged.Verbs, v)
				}
			}
			continue
		}
		merged := proto.Clone(r).(*rbacv1.PolicyRule)
		simple[key] = merged
		out = append(out, merged)
	}
	return out
}

// compactString renders a rule as Kubernetes does in escalation errors:
// {APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list"]}.
func compactString(r *rbacv1.PolicyRule) string {
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", name, v))
		}
	}
	add("APIGroups", r.GetApiGroups())
	add("Resources", r.GetResources())
	add("NonResourceURLs", r.GetNonResourceUrls())
	add("ResourceNames", r.GetResourceNames())
	add("Verbs", r.GetVerbs())
	return "{" + strings.Join(parts, ", ") + "}"
}

// onlyGCFields tells an update that changes nothing but owner references
// and finalizers (and what the server keeps: resourceVersion,
// managedFields, generation).
func onlyGCFields(w registry.Write) bool {
	if w.Old == nil {
		return false
	}
	strip := func(obj proto.Message) proto.Message {
		c := proto.Clone(obj)
		m := object.Meta(c)
		m.OwnerReferences, m.Finalizers, m.ResourceVersion, m.ManagedFields, m.Generation = nil, nil, "", nil, 0
		return c
	}
	return proto.Equal(strip(w.Object), strip(w.Old))
}
