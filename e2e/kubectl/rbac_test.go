package kubectl

import (
	"fmt"
	"strings"
	"testing"
)

// TestRBACKinds: kubectl on the four rbac.authorization.k8s.io/v1 kinds,
// stored and served as Kubernetes serves them (nothing authorizes by them
// yet): the everyday commands, Kubernetes' columns, rbac/v1's defaults,
// names that are path segments, and the validation errors kubectl shows.
func TestRBACKinds(t *testing.T) {
	k, _ := newKube(t)
	k.run("create", "namespace", "team")
	const rules = `rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
`
	for _, c := range []kindCase{
		{
			resource: "roles", namespace: "team",
			manifest: func(name string) string {
				return fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: %s\n  namespace: team\n  labels: {e2e: kinds}\n%s", name, rules)
			},
			columns: []string{"NAME", "CREATED AT"},
			cells:   []string{"first", "*"},
		},
		{
			resource: "clusterroles",
			manifest: func(name string) string {
				return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: %s
  labels: {e2e: kinds}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {rbac.example.com/aggregate-to-%s: "true"}
%s- nonResourceURLs: [/healthz, /metrics]
  verbs: [get]
`, name, name, rules)
			},
			columns: []string{"NAME", "CREATED AT"},
			cells:   []string{"first", "*"},
		},
		{
			// No apiGroup in roleRef or the User subject: rbac/v1
			// defaults both.
			resource: "rolebindings", namespace: "team",
			manifest: func(name string) string {
				return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: %s
  namespace: team
  labels: {e2e: kinds}
roleRef: {kind: Role, name: %s-reader}
subjects:
- {kind: User, name: alice}
- {kind: ServiceAccount, name: ci}
`, name, name)
			},
			columns: []string{"NAME", "ROLE", "AGE"},
			cells:   []string{"first", "Role/first-reader", "*"},
		},
		{
			resource: "clusterrolebindings",
			manifest: func(name string) string {
				return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: %s
  labels: {e2e: kinds}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:%s"}
subjects:
- {kind: Group, name: "system:authenticated"}
- {kind: ServiceAccount, name: ci, namespace: team}
`, name, name)
			},
			columns: []string{"NAME", "ROLE", "AGE"},
			cells:   []string{"first", "ClusterRole/system:first", "*"},
		},
	} {
		t.Run(c.resource, func(t *testing.T) {
			exerciseKind(t, &kube{t: t, kubeconfig: k.kubeconfig}, c)
		})
	}

	k.runIn("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: defaulted, namespace: team}\n"+
		"roleRef: {kind: ClusterRole, name: view}\nsubjects:\n- {kind: User, name: alice}\n- {kind: ServiceAccount, name: ci}\n", "apply", "-f", "-")
	rb := k.jsonOf("get", "rolebinding", "defaulted", "-n", "team")
	if got := path(rb, "roleRef", "apiGroup"); got != "rbac.authorization.k8s.io" {
		t.Errorf("defaulted roleRef.apiGroup: got %v, want rbac.authorization.k8s.io", got)
	}
	if got, sa := path(rb, "subjects", 0, "apiGroup"), path(rb, "subjects", 1, "apiGroup"); got != "rbac.authorization.k8s.io" || sa != nil {
		t.Errorf("defaulted subjects' apiGroup: got User %v, ServiceAccount %v, want rbac.authorization.k8s.io and none", got, sa)
	}
	lines := strings.Split(strings.TrimSpace(k.run("get", "rolebinding", "defaulted", "-n", "team", "-o", "wide")), "\n")
	if got := strings.Join(fields(lines[0]), " "); got != "NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS" {
		t.Errorf("kubectl get rolebinding -o wide columns: got %q, want NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS", got)
	}
	// A service account without a namespace shows as /name, as
	// Kubernetes prints it (the binding's namespace is meant).
	if row := fields(lines[1]); len(row) != 5 || row[1] != "ClusterRole/view" || row[3] != "alice" || row[4] != "/ci" {
		t.Errorf("kubectl get rolebinding -o wide row: got %q, want defaulted ClusterRole/view <age> alice /ci (no groups)", row)
	}

	out, err := k.try("", "patch", "rolebinding", "defaulted", "-n", "team", "--type=merge", "-p", `{"roleRef":{"name":"edit"}}`)
	if err == nil {
		t.Errorf("kubectl patch of the roleRef: succeeded, want it refused\n%s", out)
	}
	mustContain(t, "kubectl patch of the roleRef", out, `The RoleBinding "defaulted" is invalid: roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":"edit"}: cannot change roleRef`)
	out = k.run("explain", "clusterrole.aggregationRule")
	mustContain(t, "kubectl explain clusterrole.aggregationRule", out, "KIND:", "ClusterRole", "clusterRoleSelectors")
}

// TestRBACValidation: what Kubernetes refuses, as kubectl shows it.
func TestRBACValidation(t *testing.T) {
	k, _ := newKube(t)
	for _, tc := range []struct {
		name, manifest string
		want           []string
	}{
		{"a role with non-resource URLs", `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: health, namespace: default}
rules:
- {verbs: [get], nonResourceURLs: [/healthz]}
- {resources: [pods]}
`, []string{
			`The Role "health" is invalid:`,
			`* rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs`,
			"* rules[1].verbs: Required value: verbs must contain at least one value",
			"* rules[1].apiGroups: Required value: resource rules must supply at least one api group",
		}},
		{"a cluster role binding to a Role", `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "ops/all"}
roleRef: {kind: Role, name: ops}
subjects:
- {kind: ServiceAccount, name: ci}
- {kind: Robot, name: r2}
`, []string{
			`The ClusterRoleBinding "ops/all" is invalid:`,
			`* metadata.name: Invalid value: "ops/all": may not contain '/'`,
			`* roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`,
			"* subjects[0].namespace: Required value",
			`* subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`,
		}},
		{"an aggregation rule without selectors", `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: empty}
aggregationRule: {clusterRoleSelectors: []}
`, []string{
			`The ClusterRole "empty" is invalid: aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil`,
		}},
	} {
		out, err := k.try(tc.manifest, "create", "-f", "-")
		if err == nil {
			t.Errorf("%s: kubectl create succeeded, want it refused\n%s", tc.name, out)
		}
		mustContain(t, tc.name, out, tc.want...)
	}
}

// TestKubectlCreateRBAC: kubectl's create commands for the rbac kinds,
// which check resources against the server's discovery and build the
// objects themselves.
func TestKubectlCreateRBAC(t *testing.T) {
	k, _ := newKube(t)
	k.run("create", "role", "reader", "--verb=get,list,watch", "--resource=pods,deployments.apps", "--resource-name=web")
	role := k.jsonOf("get", "role", "reader")
	if g, r := path(role, "rules", 1, "apiGroups", 0), path(role, "rules", 1, "resources", 0); g != "apps" || r != "deployments" {
		t.Errorf("kubectl create role: second rule %v, want deployments in apps", path(role, "rules", 1))
	}
	if out, err := k.try("", "create", "role", "widgets", "--verb=get", "--resource=widgets"); err == nil || !strings.Contains(out, `the server doesn't have a resource type "widgets"`) {
		t.Errorf("kubectl create role on an unknown resource: got %v\n%s, want the server has no such resource", err, out)
	}

	k.run("create", "clusterrole", "system:watcher", "--verb=get", "--resource=nodes", "--non-resource-url=/healthz")
	cr := k.jsonOf("get", "clusterrole", "system:watcher")
	if got := path(cr, "rules", 1, "nonResourceURLs", 0); got != "/healthz" {
		t.Errorf("kubectl create clusterrole: rules %v, want a /healthz rule", path(cr, "rules"))
	}
	k.run("create", "clusterrole", "monitoring", "--aggregation-rule=rbac.example.com/aggregate-to-monitoring=true")
	agg := k.jsonOf("get", "clusterrole", "monitoring")
	if got := path(agg, "aggregationRule", "clusterRoleSelectors", 0, "matchLabels", "rbac.example.com/aggregate-to-monitoring"); got != "true" {
		t.Errorf("kubectl create clusterrole --aggregation-rule: got %v", path(agg, "aggregationRule"))
	}

	k.run("create", "rolebinding", "readers", "--role=reader", "--user=alice", "--group=devs", "--serviceaccount=default:ci")
	k.run("create", "clusterrolebinding", "watchers", "--clusterrole=system:watcher", "--user=bob", "--serviceaccount=kube-system:ci")
	for _, tc := range []struct {
		resource string
		want     []string
	}{
		{"rolebinding/readers", []string{"readers", "Role/reader", "*", "alice", "devs", "default/ci"}},
		{"clusterrolebinding/watchers", []string{"watchers", "ClusterRole/system:watcher", "*", "bob", "kube-system/ci"}},
	} {
		lines := strings.Split(strings.TrimSpace(k.run("get", tc.resource, "-o", "wide")), "\n")
		row := fields(lines[len(lines)-1])
		ok := len(row) == len(tc.want)
		for i := 0; ok && i < len(row); i++ {
			ok = tc.want[i] == "*" || row[i] == tc.want[i]
		}
		if !ok {
			t.Errorf("kubectl get %s -o wide: got %q, want %q", tc.resource, row, tc.want)
		}
	}
	out := k.run("get", "roles,clusterroles,rolebindings,clusterrolebindings", "-o", "name")
	mustContain(t, "kubectl get of the four kinds", out, "role.rbac.authorization.k8s.io/reader",
		"clusterrole.rbac.authorization.k8s.io/system:watcher", "rolebinding.rbac.authorization.k8s.io/readers",
		"clusterrolebinding.rbac.authorization.k8s.io/watchers")
	k.run("delete", "rolebinding/readers", "clusterrolebinding/watchers", "role/reader", "clusterrole/system:watcher", "clusterrole/monitoring")
}
