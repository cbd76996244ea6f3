package clusterroleaggregation

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/pkg/labels"
)

// aggregate is the rules role should have: for each of its selectors in
// turn, the rules of the roles in all that it selects (never role itself),
// taken by role name, each rule kept the first time it is met. This is
// Kubernetes' order, so both write the same list. A role without an
// aggregation rule has nothing to aggregate: aggregate returns nil, false.
func aggregate(role *rbacv1.ClusterRole, all []*rbacv1.ClusterRole) ([]*rbacv1.PolicyRule, bool) {
	if role.GetAggregationRule() == nil {
		return nil, false
	}
	byName := slices.SortedFunc(slices.Values(all), func(a, b *rbacv1.ClusterRole) int {
		return strings.Compare(a.GetMetadata().GetName(), b.GetMetadata().GetName())
	})
	name := role.GetMetadata().GetName()
	var out []*rbacv1.PolicyRule
	for _, sel := range role.GetAggregationRule().GetClusterRoleSelectors() {
		for _, r := range byName {
			if r.GetMetadata().GetName() == name || !labels.Matches(sel, r.GetMetadata().GetLabels()) {
				continue
			}
			for _, rule := range r.GetRules() {
				if !slices.ContainsFunc(out, func(have *rbacv1.PolicyRule) bool { return proto.Equal(have, rule) }) {
					out = append(out, rule)
				}
			}
		}
	}
	return out, true
}

// sameRules reports whether two rule lists are equal, in order. As in
// Kubernetes' semantic equality, an empty list of verbs (or groups,
// resources...) equals a missing one.
func sameRules(a, b []*rbacv1.PolicyRule) bool {
	return slices.EqualFunc(a, b, func(x, y *rbacv1.PolicyRule) bool { return proto.Equal(x, y) })
}
