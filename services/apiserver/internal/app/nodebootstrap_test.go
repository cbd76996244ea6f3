package app

import (
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/pkg/client"
)

// TestNodeBootstrapKubeconfig: with --write-node-bootstrap-kubeconfig the
// apiserver writes a kubeconfig whose bootstrap token authenticates as
// system:bootstrap:<id> in kubeadm's node token group, which may ask for
// certificates and nothing else.
func TestNodeBootstrapKubeconfig(t *testing.T) {
	s := startServerWith(t, func(o *Options) { o.WriteNodeBootstrapKubeconfig = true })
	cfg, err := client.FromKubeconfig(filepath.Join(s.dataDir, "kubeconfigs", "node-bootstrap.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	code, body := s.do("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", cfg.Token, `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
	user, _ := dig(body, "status", "userInfo", "username").(string)
	groups := dig(body, "status", "userInfo", "groups")
	if code != 201 || !strings.HasPrefix(user, "system:bootstrap:") || !strings.Contains(strings.Join(anyStrings(groups), ","), NodeTokenGroup) {
		t.Fatalf("whoami with the bootstrap token: %d %v", code, body)
	}
	review := func(verb, resource string) bool {
		t.Helper()
		code, body := s.do("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", cfg.Token,
			`{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"group":"certificates.k8s.io","verb":"`+verb+`","resource":"`+resource+`"}}}`)
		if code != 201 {
			t.Fatalf("access review: %d %v", code, body)
		}
		allowed, _ := dig(body, "status", "allowed").(bool)
		return allowed
	}
	if !review("create", "certificatesigningrequests") || review("delete", "certificatesigningrequests") {
		t.Error("the node bootstrap token may not create certificate requests, or may delete them")
	}
	if code, _ := s.do("GET", "/api/v1/namespaces/kube-system/secrets", cfg.Token, ""); code != 403 {
		t.Errorf("the node bootstrap token lists secrets: got %d, want 403", code)
	}
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
