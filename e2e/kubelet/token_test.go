package kubelet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// apiAudience is the apiserver's default audience (its issuer).
const apiAudience = "https://kubernetes.default.svc.cluster.local"

const tokenPod = `apiVersion: v1
kind: ConfigMap
metadata: {name: token-settings}
data: {greeting: hello}
---
apiVersion: v1
kind: Pod
metadata: {name: token-reader, labels: {app: token-reader}}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    volumeMounts:
    - {name: identity, mountPath: /var/run/secrets/skiff, readOnly: true}
  volumes:
  - name: identity
    projected:
      sources:
      - serviceAccountToken: {path: token, audience: "` + apiAudience + `", expirationSeconds: 3607}
      - serviceAccountToken: {path: vault-token, audience: vault, expirationSeconds: 3607}
      - configMap:
          name: token-settings
          items: [{key: greeting, path: greeting}]
      - downwardAPI:
          items: [{path: name, fieldRef: {fieldPath: metadata.name}}]
`

// TestServiceAccountTokens: kubectl create token prints a JWT that
// authenticates as the service account; a pod's projected volume gets
// pod-bound tokens for the requested audiences next to its configMap and
// downwardAPI files, and the one for the apiserver authenticates there.
func TestServiceAccountTokens(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	framework.Eventually(t, 30*time.Second, "the default service account exists", func() error {
		_, err := c.CoreV1().ServiceAccounts("default").Get(context.Background(), "default")
		return err
	})

	out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "create", "token", "default")
	if err != nil {
		t.Fatalf("kubectl create token: %v\n%s", err, out)
	}
	tok := strings.TrimSpace(out)
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("kubectl create token printed %q, want a JWT", out)
	}
	if who := whoami(t, cl, tok); who != "system:serviceaccount:default:default" {
		t.Fatalf("kubectl create token: the token authenticates as %q", who)
	}
	// RBAC: the account may do nothing until it is bound to a role.
	const forbidden = `pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default"`
	if out, err := asToken(t, cl, tok, "get", "pods"); err == nil || !strings.Contains(out, forbidden) {
		t.Fatalf("kubectl get pods with an unbound account's token: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"create", "role", "pod-reader", "--verb=get,list", "--resource=pods"},
		{"create", "rolebinding", "default-reads-pods", "--role=pod-reader", "--serviceaccount=default:default"},
	} {
		if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", args...); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	framework.Eventually(t, 30*time.Second, "the token lists pods once bound to a role that allows it", func() error {
		out, err := asToken(t, cl, tok, "get", "pods")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})

	cl.apply(t, tokenPod)
	framework.Eventually(t, 60*time.Second, "token-reader running", func() error {
		if p := getPod(t, c, "token-reader"); p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("phase %s: %v %v", p.GetStatus().GetPhase(), containerStatus(p).GetState(), p.GetStatus().GetConditions())
		}
		return nil
	})
	p := getPod(t, c, "token-reader")
	id := strings.TrimPrefix(containerStatus(p).GetContainerId(), "containerd://")
	read := func(file string) string {
		t.Helper()
		got, code := execIn(t, cl.ctd, id, "cat", "/var/run/secrets/skiff/"+file)
		if code != 0 {
			t.Fatalf("cat %s: exit %d: %s", file, code, got)
		}
		return got
	}
	if got := read("greeting"); got != "hello" {
		t.Errorf("configMap source: greeting %q, want hello", got)
	}
	if got := read("name"); got != "token-reader" {
		t.Errorf("downwardAPI source: name %q, want token-reader", got)
	}
	for file, aud := range map[string]string{"token": apiAudience, "vault-token": "vault"} {
		claims := jwtClaims(t, read(file))
		pod, _ := claims.Kubernetes["pod"].(map[string]any)
		if len(claims.Aud) != 1 || claims.Aud[0] != aud || claims.Sub != "system:serviceaccount:default:default" ||
			pod["name"] != "token-reader" || pod["uid"] != p.GetMetadata().GetUid() {
			t.Errorf("%s: claims %+v, want audience %s, bound to pod token-reader (%s)", file, claims, aud, p.GetMetadata().GetUid())
		}
	}
	if who := whoami(t, cl, read("token")); who != "system:serviceaccount:default:default" {
		t.Errorf("the pod's token authenticates as %q", who)
	}
	if out, err := asToken(t, cl, read("vault-token"), "get", "pods"); err == nil || !strings.Contains(out, "Unauthorized") {
		t.Errorf("a token for another audience was accepted: %v\n%s", err, out)
	}
}

// asToken runs kubectl against the apiserver with only a bearer token:
// --server and --certificate-authority, and an empty kubeconfig.
func asToken(t *testing.T, cl *cluster, token string, args ...string) (string, error) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty.kubeconfig")
	if err := os.WriteFile(empty, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--server", cl.srv.URL(), "--certificate-authority", filepath.Join(cl.srv.DataDir, "pki", "ca.crt"), "--token", token}
	return framework.Kubectl(t, empty, "", append(flags, args...)...)
}

// whoami is the user name kubectl auth whoami reports for a token.
func whoami(t *testing.T, cl *cluster, token string) string {
	t.Helper()
	out, err := asToken(t, cl, token, "auth", "whoami", "-o", "json")
	if err != nil {
		t.Fatalf("kubectl auth whoami: %v\n%s", err, out)
	}
	var review struct {
		Status struct {
			UserInfo struct{ Username string } `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &review); err != nil {
		t.Fatalf("kubectl auth whoami printed %q: %v", out, err)
	}
	return review.Status.UserInfo.Username
}

type claims struct {
	Sub        string         `json:"sub"`
	Aud        []string       `json:"aud"`
	Kubernetes map[string]any `json:"kubernetes.io"`
}

// jwtClaims reads a JWT's claims without checking it.
func jwtClaims(t *testing.T, token string) claims {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", token)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c claims
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	return c
}
