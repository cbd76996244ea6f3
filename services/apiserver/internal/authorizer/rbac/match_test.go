package rbac

import (
	"skiff.dev/services/apiserver/internal/authorizer"
	"testing"

	rbacv1 "skiff.dev/api/rbac/v1"
)

func TestRuleAllows(t *testing.T) {
	get := func(group, resource, sub, name string) authorizer.Attributes {
		return authorizer.Attributes{Verb: "get", ResourceRequest: true, Namespace: "ns", APIGroup: group, Resource: resource, Subresource: sub, Name: name}
	}
	withVerb := func(a authorizer.Attributes, verb string) authorizer.Attributes { a.Verb = verb; return a }
	path := func(verb, p string) authorizer.Attributes { return authorizer.Attributes{Verb: verb, Path: p} }
	pods := get("", "pods", "", "web")

	tests := []struct {
		name  string
		rule  *rbacv1.PolicyRule
		attrs authorizer.Attributes
		want  bool
	}{
		{"exact", rule(l("get"), l(""), l("pods")), pods, true},
		{"other verb", rule(l("list"), l(""), l("pods")), pods, false},
		{"verb star", rule(l("*"), l(""), l("pods")), pods, true},
		{"other group", rule(l("get"), l("apps"), l("pods")), pods, false},
		{"group star", rule(l("get"), l("*"), l("pods")), pods, true},
		{"no groups", rule(l("get"), nil, l("pods")), pods, false},
		{"other resource", rule(l("get"), l(""), l("services")), pods, false},
		{"resource star", rule(l("get"), l(""), l("*")), pods, true},
		{"resource star covers subresources", rule(l("get"), l(""), l("*")), get("", "pods", "log", "web"), true},
		{"resource does not cover its subresource", rule(l("get"), l(""), l("pods")), get("", "pods", "log", "web"), false},
		{"subresource exact", rule(l("get"), l(""), l("pods/log")), get("", "pods", "log", "web"), true},
		{"subresource does not cover resource", rule(l("get"), l(""), l("pods/log")), pods, false},
		{"other subresource", rule(l("get"), l(""), l("pods/exec")), get("", "pods", "log", "web"), false},
		{"star slash subresource", rule(l("get"), l(""), l("*/log")), get("", "pods", "log", "web"), true},
		{"star slash subresource other", rule(l("get"), l(""), l("*/status")), get("", "pods", "log", "web"), false},
		{"star slash subresource not the resource", rule(l("get"), l(""), l("*/log")), pods, false},
		{"resource slash star is literal", rule(l("get"), l(""), l("pods/*")), get("", "pods", "log", "web"), false},
		{"resource slash star matches subresource named star", rule(l("get"), l(""), l("pods/*")), get("", "pods", "*", "web"), true},
		{"names: listed", rule(l("get"), l(""), l("pods"), "db", "web"), pods, true},
		{"names: not listed", rule(l("get"), l(""), l("pods"), "db"), pods, false},
		{"names: list without name", rule(l("list"), l(""), l("pods"), "web"), withVerb(get("", "pods", "", ""), "list"), false},
		{"names: watch with name from field selector", rule(l("watch"), l(""), l("pods"), "web"), withVerb(pods, "watch"), true},
		{"names: create without name", rule(l("create"), l(""), l("pods"), "web"), withVerb(get("", "pods", "", ""), "create"), false},
		{"names: star is not a wildcard", rule(l("get"), l(""), l("pods"), "*"), pods, false},
		{"no names allows list", rule(l("list"), l(""), l("pods")), withVerb(get("", "pods", "", ""), "list"), true},
		{"resource rule does not allow path", rule(l("*"), l("*"), l("*")), path("get", "/healthz"), false},
		{"url exact", urlRule(l("get"), "/healthz"), path("get", "/healthz"), true},
		{"url exact no prefix", urlRule(l("get"), "/healthz"), path("get", "/healthz/ping"), false},
		{"url other verb", urlRule(l("get"), "/healthz"), path("post", "/healthz"), false},
		{"url verb star", urlRule(l("*"), "/healthz"), path("post", "/healthz"), true},
		{"url star", urlRule(l("get"), "*"), path("get", "/anything"), true},
		{"url prefix", urlRule(l("get"), "/api/*"), path("get", "/api/v1"), true},
		{"url prefix exact slash", urlRule(l("get"), "/api/*"), path("get", "/api/"), true},
		{"url prefix needs its slash", urlRule(l("get"), "/api/*"), path("get", "/api"), false},
		{"url prefix without slash", urlRule(l("get"), "/api*"), path("get", "/apis"), true},
		{"url rule does not allow resources", urlRule(l("*"), "*"), pods, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ruleAllows(tt.attrs, tt.rule); got != tt.want {
				t.Errorf("ruleAllows(%+v, %v) = %v, want %v", tt.attrs, tt.rule, got, tt.want)
			}
		})
	}
}
