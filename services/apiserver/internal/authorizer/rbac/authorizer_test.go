package rbac

import (
	"errors"
	"skiff.dev/services/apiserver/internal/authorizer"
	"slices"
	"testing"

	rbacv1 "skiff.dev/api/rbac/v1"
)

func testSource() *staticSource {
	return &staticSource{
		clusterRoles: []*rbacv1.ClusterRole{
			clusterRole("node-reader", rule(l("get", "list"), l(""), l("nodes"))),
			clusterRole("pod-reader", rule(l("get", "list"), l(""), l("pods"))),
			clusterRole("healthz", urlRule(l("get"), "/healthz", "/metrics/*")),
			clusterRole("secret-reader", rule(l("get"), l(""), l("secrets"))),
		},
		roles: []*rbacv1.Role{
			role("dev", "deployer", rule(l("create", "update"), l("apps"), l("deployments"))),
			role("dev", "config", rule(l("get"), l(""), l("configmaps"), "settings")),
		},
		clusterRoleBindings: []*rbacv1.ClusterRoleBinding{
			clusterRoleBinding("readers", "node-reader", user("alice"), group("ops")),
			clusterRoleBinding("health", "healthz", group("system:authenticated")),
			clusterRoleBinding("sa-cluster", "pod-reader", serviceAccount("kube-system", "ctrl"), serviceAccount("", "nons")),
			clusterRoleBinding("dangling", "gone", user("carol")),
		},
		roleBindings: []*rbacv1.RoleBinding{
			roleBinding("dev", "deployers", "Role", "deployer", user("bob"), serviceAccount("", "builder")),
			roleBinding("dev", "pods", "ClusterRole", "pod-reader", group("devs")),
			roleBinding("dev", "settings", "Role", "config", serviceAccount("other", "app")),
			roleBinding("dev", "missing-role", "Role", "nope", user("carol")),
			roleBinding("dev", "bad-kind", "Thing", "x", user("carol")),
			roleBinding("prod", "pods", "ClusterRole", "pod-reader", group("devs")),
			roleBinding("prod", "secrets", "ClusterRole", "secret-reader", user("dave")),
		},
	}
}

func TestAuthorize(t *testing.T) {
	res := func(u string, groups []string, verb, ns, group, resource, sub, name string) authorizer.Attributes {
		return authorizer.Attributes{User: u, Groups: groups, Verb: verb, ResourceRequest: true, Namespace: ns, APIGroup: group, Resource: resource, Subresource: sub, Name: name}
	}
	tests := []struct {
		name       string
		attrs      authorizer.Attributes
		want       authorizer.Decision
		wantReason string
	}{
		{"cluster binding to user", res("alice", nil, "list", "", "", "nodes", "", ""),
			authorizer.DecisionAllow, `RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "node-reader" to User "alice"`},
		{"cluster binding applies in namespaces", res("alice", nil, "get", "dev", "", "nodes", "", "n1"),
			authorizer.DecisionAllow, `RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "node-reader" to User "alice"`},
		{"cluster binding to group", res("eve", l("ops"), "get", "", "", "nodes", "", "n1"),
			authorizer.DecisionAllow, `RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "node-reader" to Group "ops"`},
		{"verb not granted", res("alice", nil, "delete", "", "", "nodes", "", "n1"), authorizer.DecisionNoOpinion, ""},
		{"unknown user", res("mallory", l("system:authenticated"), "get", "", "", "nodes", "", ""), authorizer.DecisionNoOpinion, ""},
		{"system:masters is not special", res("root", l("system:masters"), "delete", "", "", "nodes", "", ""), authorizer.DecisionNoOpinion, ""},
		{"non-resource", authorizer.Attributes{User: "x", Groups: l("system:authenticated"), Verb: "get", Path: "/healthz"},
			authorizer.DecisionAllow, `RBAC: allowed by ClusterRoleBinding "health" of ClusterRole "healthz" to Group "system:authenticated"`},
		{"non-resource prefix", authorizer.Attributes{User: "x", Groups: l("system:authenticated"), Verb: "get", Path: "/metrics/cadvisor"},
			authorizer.DecisionAllow, `RBAC: allowed by ClusterRoleBinding "health" of ClusterRole "healthz" to Group "system:authenticated"`},
		{"non-resource other verb", authorizer.Attributes{User: "x", Groups: l("system:authenticated"), Verb: "post", Path: "/healthz"}, authorizer.DecisionNoOpinion, ""},
		{"service account in cluster binding", res("system:serviceaccount:kube-system:ctrl", nil, "get", "dev", "", "pods", "", "p"),
			authorizer.DecisionAllow, `RBAC: allowed by ClusterRoleBinding "sa-cluster" of ClusterRole "pod-reader" to ServiceAccount "ctrl/kube-system"`},
		{"service account of another namespace", res("system:serviceaccount:dev:ctrl", nil, "get", "dev", "", "pods", "", "p"), authorizer.DecisionNoOpinion, ""},
		{"service account without namespace in cluster binding matches no one", res("system:serviceaccount::nons", nil, "get", "", "", "pods", "", ""), authorizer.DecisionNoOpinion, ""},
		{"service account name is not a user name", res("ctrl", nil, "get", "", "", "pods", "", ""), authorizer.DecisionNoOpinion, ""},
		{"role binding to user", res("bob", nil, "create", "dev", "apps", "deployments", "", ""),
			authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "deployers/dev" of Role "deployer" to User "bob"`},
		{"role binding only in its namespace", res("bob", nil, "create", "prod", "apps", "deployments", "", ""), authorizer.DecisionNoOpinion, ""},
		{"role binding not at cluster scope", res("bob", nil, "create", "", "apps", "deployments", "", ""), authorizer.DecisionNoOpinion, ""},
		{"service account defaults to binding namespace", res("system:serviceaccount:dev:builder", nil, "update", "dev", "apps", "deployments", "", "web"),
			authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "deployers/dev" of Role "deployer" to ServiceAccount "builder/dev"`},
		{"service account of the binding namespace only", res("system:serviceaccount:prod:builder", nil, "update", "dev", "apps", "deployments", "", "web"), authorizer.DecisionNoOpinion, ""},
		{"service account of another namespace in role binding", res("system:serviceaccount:other:app", nil, "get", "dev", "", "configmaps", "", "settings"),
			authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "settings/dev" of Role "config" to ServiceAccount "app/other"`},
		{"resource name not granted", res("system:serviceaccount:other:app", nil, "get", "dev", "", "configmaps", "", "other"), authorizer.DecisionNoOpinion, ""},
		{"role binding to cluster role", res("gina", l("devs"), "list", "dev", "", "pods", "", ""),
			authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "pods/dev" of ClusterRole "pod-reader" to Group "devs"`},
		{"cluster role through role binding stays in its namespace", res("dave", nil, "get", "dev", "", "secrets", "", "s"), authorizer.DecisionNoOpinion, ""},
		{"cluster role through role binding not cluster-wide", res("dave", nil, "get", "", "", "secrets", "", "s"), authorizer.DecisionNoOpinion, ""},
		{"cluster role through role binding in its namespace", res("dave", nil, "get", "prod", "", "secrets", "", "s"),
			authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "secrets/prod" of ClusterRole "secret-reader" to User "dave"`},
		{"missing cluster role", res("carol", nil, "get", "", "", "pods", "", ""),
			authorizer.DecisionNoOpinion, `RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found`},
		{"missing roles and bad kind", res("carol", nil, "get", "dev", "", "pods", "", ""),
			authorizer.DecisionNoOpinion, `RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "nope" not found, unsupported role reference kind: "Thing"]`},
		{"missing role does not stop another grant", res("carol", l("devs"), "get", "dev", "", "pods", "", ""),
			authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "pods/dev" of ClusterRole "pod-reader" to Group "devs"`},
	}
	a := New(testSource())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, _ := a.Authorize(t.Context(), tt.attrs)
			if got != tt.want || reason != tt.wantReason {
				t.Errorf("Authorize(%+v) = %v, %q; want %v, %q", tt.attrs, got, reason, tt.want, tt.wantReason)
			}
		})
	}
}

func TestAuthorizeNamesFirstMatchingSubject(t *testing.T) {
	src := &staticSource{
		clusterRoles:        []*rbacv1.ClusterRole{clusterRole("all", rule(l("*"), l("*"), l("*")))},
		clusterRoleBindings: []*rbacv1.ClusterRoleBinding{clusterRoleBinding("b", "all", group("g"), user("u"))},
	}
	_, reason, _ := New(src).Authorize(t.Context(), authorizer.Attributes{User: "u", Groups: l("g"), Verb: "get", ResourceRequest: true, Resource: "pods"})
	if want := `RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "all" to Group "g"`; reason != want {
		t.Errorf("got reason %q, want %q", reason, want)
	}
}

func TestAuthorizeRepeatedErrorIsGivenOnce(t *testing.T) {
	src := &staticSource{clusterRoleBindings: []*rbacv1.ClusterRoleBinding{
		clusterRoleBinding("a", "gone", user("u")),
		clusterRoleBinding("b", "gone", user("u")),
	}}
	_, reason, _ := New(src).Authorize(t.Context(), authorizer.Attributes{User: "u", Verb: "get", ResourceRequest: true, Resource: "pods"})
	if want := `RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found`; reason != want {
		t.Errorf("got reason %q, want %q", reason, want)
	}
}

func TestRules(t *testing.T) {
	src := testSource()
	nodeRules := src.clusterRoles[0].Rules
	podRules := src.clusterRoles[1].Rules
	deployRules := src.roles[0].Rules
	tests := []struct {
		name      string
		user      string
		groups    []string
		namespace string
		want      []*rbacv1.PolicyRule
		wantErrs  []string
	}{
		{"cluster scope", "alice", nil, "", nodeRules, nil},
		{"namespace adds role bindings", "bob", l("ops", "devs"), "dev", slices.Concat(nodeRules, deployRules, podRules), nil},
		{"other namespace", "bob", l("devs"), "prod", podRules, nil},
		{"nobody", "mallory", nil, "dev", nil, nil},
		{"missing roles", "carol", nil, "dev", nil, []string{
			`clusterrole.rbac.authorization.k8s.io "gone" not found`,
			`role.rbac.authorization.k8s.io "nope" not found`,
			`unsupported role reference kind: "Thing"`,
		}},
	}
	a := New(src)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := a.Rules(tt.user, tt.groups, tt.namespace)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got rules %v, want %v", got, tt.want)
			}
			var gotErrs []string
			for _, err := range errs {
				gotErrs = append(gotErrs, err.Error())
			}
			if !slices.Equal(gotErrs, tt.wantErrs) {
				t.Errorf("got errors %q, want %q", gotErrs, tt.wantErrs)
			}
		})
	}
}

func TestJoinErrors(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	tests := []struct {
		errs []error
		want string
	}{
		{[]error{a}, "a"},
		{[]error{a, a}, "a"},
		{[]error{a, b, a}, "[a, b]"},
	}
	for _, tt := range tests {
		if got := joinErrors(tt.errs); got != tt.want {
			t.Errorf("joinErrors(%v) = %q, want %q", tt.errs, got, tt.want)
		}
	}
}
