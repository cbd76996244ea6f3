package clusterroleaggregation

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
)

func role(name string, lbls map[string]string, rules ...*rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: name, Labels: lbls}, Rules: rules}
}

func aggregating(name string, sels ...*metav1.LabelSelector) *rbacv1.ClusterRole {
	r := role(name, nil)
	r.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: sels}
	return r
}

func rule(verb string, resources ...string) *rbacv1.PolicyRule {
	return &rbacv1.PolicyRule{Verbs: []string{verb}, ApiGroups: []string{""}, Resources: resources}
}

func matching(k, v string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}
}

func show(rules []*rbacv1.PolicyRule) string {
	out := "["
	for _, r := range rules {
		out += "{" + prototext.MarshalOptions{}.Format(r) + "}"
	}
	return out + "]"
}

func TestAggregate(t *testing.T) {
	a := map[string]string{"agg": "a"}
	b := map[string]string{"agg": "b"}
	get, list, watch := rule("get", "pods"), rule("list", "pods"), rule("watch", "pods")
	for _, tc := range []struct {
		name  string
		role  *rbacv1.ClusterRole
		all   []*rbacv1.ClusterRole
		want  []*rbacv1.PolicyRule
		wantO bool
	}{{
		name: "no aggregation rule",
		role: role("plain", a, get),
		all:  []*rbacv1.ClusterRole{role("x", a, list)},
	}, {
		name:  "selected roles by name, not by order given",
		role:  aggregating("agg", matching("agg", "a")),
		all:   []*rbacv1.ClusterRole{role("zeta", a, watch), role("alpha", a, get), role("mid", a, list)},
		want:  []*rbacv1.PolicyRule{get, list, watch},
		wantO: true,
	}, {
		name:  "a rule met twice is kept once, where first met",
		role:  aggregating("agg", matching("agg", "a")),
		all:   []*rbacv1.ClusterRole{role("one", a, list, get), role("two", a, rule("get", "pods"), watch)},
		want:  []*rbacv1.PolicyRule{list, get, watch},
		wantO: true,
	}, {
		name: "selectors in order, then names within each",
		role: aggregating("agg", matching("agg", "b"), matching("agg", "a")),
		all: []*rbacv1.ClusterRole{role("a1", a, get), role("b2", b, watch), role("b1", b, list),
			role("a2", a, list)},
		want:  []*rbacv1.PolicyRule{list, watch, get},
		wantO: true,
	}, {
		name:  "the aggregated role is never its own source",
		role:  aggregating("agg", &metav1.LabelSelector{}),
		all:   []*rbacv1.ClusterRole{aggregating("agg", &metav1.LabelSelector{}), role("other", nil, get)},
		want:  []*rbacv1.PolicyRule{get},
		wantO: true,
	}, {
		name:  "unselected roles are left out",
		role:  aggregating("agg", matching("agg", "a")),
		all:   []*rbacv1.ClusterRole{role("b", b, get), role("none", nil, list)},
		want:  nil,
		wantO: true,
	}, {
		name: "an expression selector",
		role: aggregating("agg", &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{
			{Key: "agg", Operator: "In", Values: []string{"a", "b"}}}}),
		all:   []*rbacv1.ClusterRole{role("b", b, get), role("a", a, list), role("none", nil, watch)},
		want:  []*rbacv1.PolicyRule{list, get},
		wantO: true,
	}, {
		name:  "empty and missing lists in a rule are the same rule",
		role:  aggregating("agg", matching("agg", "a")),
		all:   []*rbacv1.ClusterRole{role("one", a, get), role("two", a, &rbacv1.PolicyRule{Verbs: []string{"get"}, ApiGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{}})},
		want:  []*rbacv1.PolicyRule{get},
		wantO: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := aggregate(tc.role, tc.all)
			if ok != tc.wantO || !sameRules(got, tc.want) {
				t.Errorf("got %s, %v, want %s, %v", show(got), ok, show(tc.want), tc.wantO)
			}
		})
	}
}

func TestSameRules(t *testing.T) {
	get, list := rule("get", "pods"), rule("list", "pods")
	for _, tc := range []struct {
		name string
		a, b []*rbacv1.PolicyRule
		want bool
	}{
		{"both empty", nil, []*rbacv1.PolicyRule{}, true},
		{"equal", []*rbacv1.PolicyRule{get, list}, []*rbacv1.PolicyRule{rule("get", "pods"), rule("list", "pods")}, true},
		{"order matters", []*rbacv1.PolicyRule{get, list}, []*rbacv1.PolicyRule{list, get}, false},
		{"one more", []*rbacv1.PolicyRule{get}, []*rbacv1.PolicyRule{get, list}, false},
		{"a field differs", []*rbacv1.PolicyRule{get}, []*rbacv1.PolicyRule{rule("get", "services")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameRules(tc.a, tc.b); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
