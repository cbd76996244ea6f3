package kubectl

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const authzPolicy = `apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: dev, namespace: team}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [create, update]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [settings]
  verbs: [get]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [rolebindings]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-dev, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-reader}
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [get, list]
- nonResourceURLs: [/metrics]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-read-nodes}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-dave}
rules:
- apiGroups: [""]
  resources: [users]
  resourceNames: [dave]
  verbs: [impersonate]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: helper, namespace: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: helper-impersonates-dave}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-dave}
subjects:
- {kind: ServiceAccount, name: helper, namespace: team}
`

// TestAuthorization: kubectl auth can-i (by SelfSubjectAccessReview, as
// the impersonated user) answers as the RBAC rules say for a matrix of
// users, verbs and resources; --list lists a user's rules; --as works only
// for users allowed to impersonate; and a user cannot bind a role that
// grants more than they hold.
func TestAuthorization(t *testing.T) {
	k, _ := newKube(t)
	k.runIn(authzPolicy, "apply", "-f", "-")

	type ask struct {
		as   []string
		args []string
		want string
	}
	alice, ops := []string{"--as", "alice"}, []string{"--as", "bob", "--as-group", "ops"}
	cases := []ask{
		{alice, []string{"get", "pods", "-n", "team"}, "yes"},
		{alice, []string{"list", "pods", "-n", "team"}, "yes"},
		{alice, []string{"watch", "pods", "-n", "team"}, "yes"},
		{alice, []string{"delete", "pods", "-n", "team"}, "no"},
		{alice, []string{"get", "pods", "-n", "other"}, "no"},
		{alice, []string{"get", "pods", "--all-namespaces"}, "no"},
		{alice, []string{"get", "pods", "--subresource=log", "-n", "team"}, "yes"},
		{alice, []string{"create", "pods", "--subresource=exec", "-n", "team"}, "no"},
		{alice, []string{"create", "deployments.apps", "-n", "team"}, "yes"},
		{alice, []string{"update", "deployments.apps/web", "-n", "team"}, "yes"},
		{alice, []string{"delete", "deployments.apps/web", "-n", "team"}, "no"},
		{alice, []string{"create", "deployments", "-n", "team"}, "yes"},
		{alice, []string{"get", "configmaps/settings", "-n", "team"}, "yes"},
		{alice, []string{"get", "configmaps/other", "-n", "team"}, "no"},
		{alice, []string{"list", "configmaps", "-n", "team"}, "no"},
		{alice, []string{"get", "secrets", "-n", "team"}, "no"},
		{alice, []string{"list", "nodes"}, "no"},
		{alice, []string{"get", "/metrics"}, "no"},
		{alice, []string{"get", "/healthz"}, "yes"},
		{alice, []string{"create", "selfsubjectaccessreviews.authorization.k8s.io"}, "yes"},
		{ops, []string{"list", "nodes"}, "yes"},
		{ops, []string{"get", "nodes/node-1"}, "yes"},
		{ops, []string{"delete", "nodes/node-1"}, "no"},
		{ops, []string{"get", "/metrics"}, "yes"},
		{ops, []string{"post", "/metrics"}, "no"},
		{ops, []string{"get", "pods", "-n", "team"}, "no"},
		{[]string{"--as", "bob"}, []string{"list", "nodes"}, "no"},
		{nil, []string{"delete", "nodes/node-1"}, "yes"},
		{[]string{"--as", "system:serviceaccount:team:helper"}, []string{"impersonate", "users/dave"}, "yes"},
		{[]string{"--as", "system:serviceaccount:team:helper"}, []string{"impersonate", "users/erin"}, "no"},
	}
	// The bindings reach the authorizer a moment after they are written.
	framework.Eventually(t, 30*time.Second, "alice's binding is in force", func() error {
		return canI(k, alice, []string{"get", "pods", "-n", "team"}, "yes")
	})
	for _, c := range cases {
		if err := canI(k, c.as, c.args, c.want); err != nil {
			t.Error(err)
		}
	}

	list := k.run("auth", "can-i", "--list", "-n", "team", "--as", "alice")
	for _, row := range [][]string{
		{"pods", "[]", "[]", "[get list watch]"},
		{"pods/log", "[]", "[]", "[get list watch]"},
		{"deployments.apps", "[]", "[]", "[create update]"},
		{"configmaps", "[]", "[settings]", "[get]"},
		{"selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"},
	} {
		if !hasRow(list, row) {
			t.Errorf("kubectl auth can-i --list as alice: no row %v in\n%s", row, list)
		}
	}

	// --as needs the impersonate verb: helper may act as dave, not as erin.
	token := strings.TrimSpace(k.run("create", "token", "helper", "-n", "team"))
	out, err := k.try("", "auth", "whoami", "--token", token, "--as", "dave", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil || strings.TrimSpace(out) != "dave" {
		t.Errorf("helper as dave: %q (%v), want dave", out, err)
	}
	out, err = k.try("", "get", "pods", "-n", "team", "--token", token, "--as", "erin")
	if err == nil || !strings.Contains(out, `users "erin" is forbidden: User "system:serviceaccount:team:helper" cannot impersonate resource "users" in API group "" at the cluster scope`) {
		t.Errorf("helper as erin: %q (%v), want Kubernetes' 403", out, err)
	}

	// Escalation: alice may bind what she holds, not more.
	out, err = k.try("", "create", "rolebinding", "grab", "--clusterrole=node-reader", "--user=alice", "-n", "team", "--as", "alice")
	if err == nil || !strings.Contains(out, `is attempting to grant RBAC permissions not currently held`) || !strings.Contains(out, `{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}`) {
		t.Errorf("alice binding node-reader: %q (%v), want the escalation error", out, err)
	}
	k.run("create", "rolebinding", "share", "--role=dev", "--user=carol", "-n", "team", "--as", "alice")

	// kubectl auth reconcile creates what is missing and adds rules to
	// what exists, leaving what it did not write.
	const reconciled = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: dev, namespace: team}
rules:
- apiGroups: [""]
  resources: [services]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dave-dev, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: dave}
`
	out = k.runIn(reconciled, "auth", "reconcile", "-f", "-")
	if !strings.Contains(out, "role.rbac.authorization.k8s.io/dev reconciled") || !strings.Contains(out, "rolebinding.rbac.authorization.k8s.io/dave-dev reconciled") {
		t.Errorf("kubectl auth reconcile: %s", out)
	}
	framework.Eventually(t, 30*time.Second, "dave may get services and pods in team", func() error {
		if err := canI(k, []string{"--as", "dave"}, []string{"get", "services", "-n", "team"}, "yes"); err != nil {
			return err
		}
		return canI(k, []string{"--as", "dave"}, []string{"get", "pods", "-n", "team"}, "yes")
	})
}

// canI asks kubectl auth can-i and compares the last line of its answer
// (kubectl may warn before it) with want.
func canI(k *kube, as, args []string, want string) error {
	out, _ := k.try("", append(append([]string{"auth", "can-i"}, args...), as...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := lines[len(lines)-1]; got != want {
		return fmt.Errorf("kubectl auth can-i %s: got %q, want %s", strings.Join(append(args, as...), " "), out, want)
	}
	return nil
}

// hasRow tells whether a kubectl table has a row with these cells.
func hasRow(table string, cells []string) bool {
	for _, l := range strings.Split(table, "\n") {
		if strings.Join(strings.Fields(l), " ") == strings.Join(cells, " ") {
			return true
		}
	}
	return false
}
