package rbac

import (
	"testing"

	rbacv1 "skiff.dev/api/rbac/v1"
)

func TestCovers(t *testing.T) {
	rules := func(r ...*rbacv1.PolicyRule) []*rbacv1.PolicyRule { return r }
	tests := []struct {
		name        string
		owner       []*rbacv1.PolicyRule
		requested   []*rbacv1.PolicyRule
		want        bool
		wantMissing []*rbacv1.PolicyRule
	}{
		{"nothing requested", nil, nil, true, nil},
		{"exact", rules(rule(l("get", "list"), l(""), l("pods"))), rules(rule(l("get"), l(""), l("pods"))), true, nil},
		{"star covers all", rules(rule(l("*"), l("*"), l("*"))), rules(rule(l("get", "delete"), l("", "apps"), l("pods", "deployments/scale"))), true, nil},
		{"split across owner rules", rules(rule(l("get"), l(""), l("pods")), rule(l("list"), l(""), l("pods"))),
			rules(rule(l("get", "list"), l(""), l("pods"))), true, nil},
		{"missing verb is listed alone", rules(rule(l("get"), l(""), l("pods"))),
			rules(rule(l("get", "delete"), l(""), l("pods", "services"))), false,
			rules(rule(l("delete"), l(""), l("pods")), rule(l("get"), l(""), l("services")), rule(l("delete"), l(""), l("services")))},
		{"listed verbs do not cover star", rules(rule(l("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"), l(""), l("pods"))),
			rules(rule(l("*"), l(""), l("pods"))), false, rules(rule(l("*"), l(""), l("pods")))},
		{"listed groups do not cover star", rules(rule(l("get"), l("", "apps"), l("pods"))),
			rules(rule(l("get"), l("*"), l("pods"))), false, rules(rule(l("get"), l("*"), l("pods")))},
		{"resource does not cover subresource", rules(rule(l("get"), l(""), l("pods"))),
			rules(rule(l("get"), l(""), l("pods/log"))), false, rules(rule(l("get"), l(""), l("pods/log")))},
		{"star slash subresource covers it", rules(rule(l("get"), l(""), l("*/log"))), rules(rule(l("get"), l(""), l("pods/log"), "web")), true, nil},
		{"star slash subresource covers star slash subresource", rules(rule(l("get"), l(""), l("*/log"))), rules(rule(l("get"), l(""), l("*/log"))), true, nil},
		{"resource slash star is literal", rules(rule(l("get"), l(""), l("pods/*"))),
			rules(rule(l("get"), l(""), l("pods/log"))), false, rules(rule(l("get"), l(""), l("pods/log")))},
		{"names: owner without names covers names", rules(rule(l("get"), l(""), l("pods"))), rules(rule(l("get"), l(""), l("pods"), "a", "b")), true, nil},
		{"names: owner names cover listed", rules(rule(l("get"), l(""), l("pods"), "a", "b")), rules(rule(l("get"), l(""), l("pods"), "b")), true, nil},
		{"names: owner names do not cover others", rules(rule(l("get"), l(""), l("pods"), "a")),
			rules(rule(l("get"), l(""), l("pods"), "a", "c")), false, rules(rule(l("get"), l(""), l("pods"), "c"))},
		{"names: owner names do not cover all names", rules(rule(l("get"), l(""), l("pods"), "a")),
			rules(rule(l("get"), l(""), l("pods"))), false, rules(rule(l("get"), l(""), l("pods")))},
		{"names: star is not a wildcard", rules(rule(l("get"), l(""), l("pods"), "*")),
			rules(rule(l("get"), l(""), l("pods"), "a")), false, rules(rule(l("get"), l(""), l("pods"), "a"))},
		{"url exact", rules(urlRule(l("get"), "/healthz")), rules(urlRule(l("get"), "/healthz")), true, nil},
		{"url star", rules(urlRule(l("*"), "*")), rules(urlRule(l("get", "post"), "/a", "/b/*")), true, nil},
		{"url prefix covers path and narrower prefix", rules(urlRule(l("get"), "/api/*")), rules(urlRule(l("get"), "/api/v1", "/api/v1/*", "/api/*")), true, nil},
		{"url prefix does not cover wider", rules(urlRule(l("get"), "/api/*")),
			rules(urlRule(l("get"), "/api", "/apis")), false, rules(urlRule(l("get"), "/api"), urlRule(l("get"), "/apis"))},
		{"url exact does not cover prefix", rules(urlRule(l("get"), "/api")),
			rules(urlRule(l("get"), "/api/*")), false, rules(urlRule(l("get"), "/api/*"))},
		{"url other verb", rules(urlRule(l("get"), "*")),
			rules(urlRule(l("get", "post"), "/x")), false, rules(urlRule(l("post"), "/x"))},
		{"resource rule does not cover url", rules(rule(l("*"), l("*"), l("*"))),
			rules(urlRule(l("get"), "/healthz")), false, rules(urlRule(l("get"), "/healthz"))},
		{"url rule does not cover resource", rules(urlRule(l("*"), "*")),
			rules(rule(l("get"), l(""), l("pods"))), false, rules(rule(l("get"), l(""), l("pods")))},
		{"mixed rule broken into both kinds", rules(rule(l("get"), l(""), l("pods")), urlRule(l("get"), "/healthz")),
			rules(&rbacv1.PolicyRule{Verbs: l("get"), ApiGroups: l(""), Resources: l("pods"), NonResourceUrls: l("/healthz")}), true, nil},
		{"rule without groups asks for nothing", nil, rules(rule(l("get"), nil, l("pods"))), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, missing := Covers(tt.owner, tt.requested)
			if got != tt.want || !equalRules(missing, tt.wantMissing) {
				t.Errorf("Covers = %v, %v; want %v, %v", got, missing, tt.want, tt.wantMissing)
			}
		})
	}
}

func equalRules(a, b []*rbacv1.PolicyRule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}
