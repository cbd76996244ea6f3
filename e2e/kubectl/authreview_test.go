package kubectl

import (
	"strings"
	"testing"
)

// TestAuthReview: kubectl auth can-i asks the server with a
// SelfSubjectAccessReview in protobuf, and --list with a
// SelfSubjectRulesReview. The admin (system:masters) may do everything
// whatever the authorization configuration; the other reviews go through
// kubectl create as JSON.
func TestAuthReview(t *testing.T) {
	k, _ := newKube(t)
	k.run("create", "namespace", "team")

	for _, args := range [][]string{
		{"create", "pods"},
		{"get", "pods", "--subresource=log", "-n", "team"},
		{"delete", "deployments.apps/web", "-n", "team"},
		{"list", "nodes"},
		{"get", "/healthz"},
		{"*", "*", "--all-namespaces"},
	} {
		// The answer is the last line; kubectl may warn before it (a
		// cluster-scoped resource asked about in a namespace).
		out, err := k.try("", append([]string{"auth", "can-i"}, args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || lines[len(lines)-1] != "yes" {
			t.Errorf("kubectl auth can-i %s: %q (%v), want yes", strings.Join(args, " "), out, err)
		}
	}

	list := k.run("auth", "can-i", "--list", "-n", "team")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	var header, everything, everyPath bool
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case strings.Join(f, " ") == "Resources Non-Resource URLs Resource Names Verbs":
			header = true
		case len(f) == 4 && f[0] == "*.*" && f[1] == "[]" && f[2] == "[]" && f[3] == "[*]":
			everything = true
		case len(f) == 3 && f[0] == "[*]" && f[1] == "[]" && f[2] == "[*]":
			everyPath = true
		}
	}
	if !header || !everything || !everyPath {
		t.Errorf("kubectl auth can-i --list: got\n%s\nwant the header, *.* and the non-resource URL * with every verb", list)
	}

	// A SubjectAccessReview about a member of system:masters, with extra
	// values, and a LocalSubjectAccessReview in team.
	sar := k.runIn(`apiVersion: authorization.k8s.io/v1
kind: SubjectAccessReview
spec:
  user: carol
  groups: ["system:masters"]
  extra: {scopes: [a, b]}
  resourceAttributes: {verb: get, resource: secrets, namespace: team}
`, "create", "-f", "-", "-o", "json")
	mustContain(t, "subjectaccessreview", sar, `"allowed": true`, `"scopes": [`)
	lsar := k.runIn(`apiVersion: authorization.k8s.io/v1
kind: LocalSubjectAccessReview
metadata: {namespace: team}
spec:
  user: carol
  groups: ["system:masters"]
  resourceAttributes: {verb: list, resource: configmaps, namespace: team}
`, "create", "-f", "-", "-o", "json")
	mustContain(t, "localsubjectaccessreview", lsar, `"allowed": true`, `"namespace": "team"`)

	// Kubernetes' validation errors, as kubectl shows them.
	out, err := k.try(`apiVersion: authorization.k8s.io/v1
kind: SubjectAccessReview
spec: {}
`, "create", "-f", "-")
	if err == nil {
		t.Fatalf("an empty SubjectAccessReview was answered: %s", out)
	}
	mustContain(t, "empty subjectaccessreview", out,
		"spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified",
		`spec.user: Invalid value: "": at least one of user or group must be specified`)
	out, err = k.try(`apiVersion: authorization.k8s.io/v1
kind: LocalSubjectAccessReview
spec:
  user: carol
  resourceAttributes: {verb: list, resource: configmaps}
`, "create", "-n", "team", "-f", "-")
	if err == nil {
		t.Fatalf("a LocalSubjectAccessReview without the namespace in its attributes was answered: %s", out)
	}
	mustContain(t, "localsubjectaccessreview without namespace", out, `spec.resourceAttributes.namespace: Invalid value: "": must match metadata.namespace`)

	// OpenAPI: extra is a map of string lists, as in Kubernetes.
	mustContain(t, "kubectl explain", k.run("explain", "subjectaccessreviews.spec.extra"), "extra <map[string][]string>")

	// Discovery: the four reviews, create only, one namespaced.
	resources := k.run("api-resources", "--api-group=authorization.k8s.io", "-o", "wide", "--no-headers")
	for _, want := range []string{"localsubjectaccessreviews true", "selfsubjectaccessreviews false", "selfsubjectrulesreviews false", "subjectaccessreviews false"} {
		found := false
		for _, l := range strings.Split(resources, "\n") {
			f := strings.Fields(l)
			if len(f) >= 5 && f[0]+" "+f[2] == want && f[4] == "create" {
				found = true
			}
		}
		if !found {
			t.Errorf("kubectl api-resources: got\n%s\nwant %s with the create verb only", resources, want)
		}
	}
}
