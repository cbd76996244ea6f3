package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// server is an apiserver running in-process on embedded etcd.
type server struct {
	t          testing.TB
	addr       string
	adminToken string
	ca         []byte
	dataDir    string
	http       *http.Client
	// stop tells the server to stop, as SIGTERM does; the test's cleanup
	// waits for it.
	stop func()
}

// startServer runs an apiserver; tokens are extra lines of its token file
// (token,user,uid,"groups").
func startServer(t testing.TB, tokens ...string) *server {
	t.Helper()
	return startServerWith(t, nil, tokens...)
}

// startServerWith runs an apiserver whose options configure changes
// (given the data directory already chosen).
func startServerWith(t testing.TB, configure func(*Options), tokens ...string) *server {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: runs the apiserver on embedded etcd")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	o := NewOptions()
	o.DataDir, o.BindAddress, o.SecurePort, o.LogLevel, o.OTLPEndpoint = t.TempDir(), "127.0.0.1", port, "error", ""
	// No serviceaccount controller makes the default accounts here, so
	// ServiceAccount admission is off, as in Kubernetes' integration tests.
	o.DisableAdmissionPlugins = []string{"ServiceAccount"}
	if len(tokens) > 0 {
		if err := os.WriteFile(filepath.Join(o.DataDir, "tokens.csv"), []byte(strings.Join(tokens, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if configure != nil {
		configure(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("apiserver: %v", err)
		}
	})
	kubeconfig := filepath.Join(o.DataDir, "admin.kubeconfig")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(kubeconfig); err == nil {
			break
		}
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("apiserver stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the apiserver wrote no admin.kubeconfig within a minute")
		}
	}
	cfg, err := client.FromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cfg.CAData)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &server{t: t, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), adminToken: cfg.Token, ca: cfg.CAData, dataDir: o.DataDir,
		http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, stop: cancel}
}

// client is a gRPC client that authenticates with token.
func (s *server) client(token string) *client.Client {
	s.t.Helper()
	c, err := client.New(client.Config{Address: s.addr, Token: token, CAData: s.ca})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// do sends a JSON request with a bearer token and decodes the answer.
func (s *server) do(method, path, token, body string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, "https://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// dig reads a nested field of decoded JSON: dig(m, "status", "token").
func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// TestServiceAccountTokens: TokenRequest on both faces, tokens that
// authenticate on both faces as the account, and stop doing so when the
// account or the pod they are bound to is deleted.
func TestServiceAccountTokens(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := s.client(s.adminToken)
	sa, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: "robot"}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The account may read pods in default.
	if code, body := s.do("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", s.adminToken,
		`{"metadata":{"name":"pod-reader"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}`); code != http.StatusCreated {
		t.Fatalf("create role pod-reader: %d %v", code, body)
	}
	if code, body := s.do("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", s.adminToken,
		`{"metadata":{"name":"robot-reads-pods"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pod-reader"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"default"}]}`); code != http.StatusCreated {
		t.Fatalf("bind robot to pod-reader: %d %v", code, body)
	}
	pod, err := admin.CoreV1().Pods("default").Create(ctx, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web"}, Spec: &corev1.PodSpec{
		ServiceAccountName: proto.String("robot"), Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}}}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// REST, JSON, bound to the pod.
	code, body := s.do("POST", "/api/v1/namespaces/default/serviceaccounts/robot/token", s.adminToken, fmt.Sprintf(
		`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"audiences":["https://kubernetes.default.svc.cluster.local","vault"],"expirationSeconds":3607,"boundObjectRef":{"apiVersion":"v1","kind":"Pod","name":"web","uid":%q}}}`,
		pod.GetMetadata().GetUid()))
	bound, _ := dig(body, "status", "token").(string)
	if code != http.StatusCreated || bound == "" || dig(body, "kind") != "TokenRequest" || dig(body, "status", "expirationTimestamp") == nil {
		t.Fatalf("POST serviceaccounts/robot/token: %d %v", code, body)
	}
	// gRPC, unbound, defaults.
	tr, err := admin.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", nil)
	if err != nil {
		t.Fatal(err)
	}
	unbound := tr.GetStatus().GetToken()
	if unbound == "" || tr.GetSpec().GetExpirationSeconds() != 3600 || time.Until(tr.GetStatus().GetExpirationTimestamp().AsTime()) < 59*time.Minute {
		t.Fatalf("CreateToken answered %v", tr)
	}

	user := "system:serviceaccount:default:robot"
	for name, tok := range map[string]string{"bound": bound, "unbound": unbound} {
		code, body := s.do("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", tok, `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
		if code != http.StatusCreated || dig(body, "status", "userInfo", "username") != user || dig(body, "status", "userInfo", "uid") != sa.GetMetadata().GetUid() {
			t.Errorf("%s token, whoami: %d %v", name, code, body)
		}
		groups := fmt.Sprint(dig(body, "status", "userInfo", "groups"))
		if groups != "[system:serviceaccounts system:serviceaccounts:default system:authenticated]" {
			t.Errorf("%s token: groups %s", name, groups)
		}
		c := s.client(tok)
		pollUntil(t, func() bool {
			_, err := c.CoreV1().Pods("default").List(ctx, client.ListOptions{})
			return err == nil
		}, name+" token lists pods over gRPC")
	}

	// Kubernetes' validation and lookups.
	for _, tc := range []struct {
		path, body string
		code       int
		field      string
	}{
		{"/api/v1/namespaces/default/serviceaccounts/robot/token", `{"spec":{"expirationSeconds":60}}`, 422, "spec.expirationSeconds"},
		{"/api/v1/namespaces/default/serviceaccounts/nobody/token", `{}`, 404, ""},
		{"/api/v1/namespaces/default/serviceaccounts/robot/token", `{"spec":{"boundObjectRef":{"kind":"Pod","name":"web","uid":"stale"}}}`, 409, ""},
		{"/api/v1/namespaces/default/serviceaccounts/robot/token", `{"spec":{"boundObjectRef":{"kind":"Pod","name":"gone"}}}`, 404, ""},
	} {
		code, body := s.do("POST", tc.path, s.adminToken, tc.body)
		causes, _ := dig(body, "details", "causes").([]any)
		if code != tc.code || (tc.field != "" && (len(causes) != 1 || dig(causes[0].(map[string]any), "field") != tc.field)) {
			t.Errorf("%s %s: %d %v; want %d %s", tc.path, tc.body, code, body, tc.code, tc.field)
		}
	}

	code, body = s.do("GET", "/.well-known/openid-configuration", unbound, "")
	if code != http.StatusOK || dig(body, "issuer") != "https://kubernetes.default.svc.cluster.local" {
		t.Errorf("openid-configuration: %d %v", code, body)
	}

	// The pod goes: its token stops working, the unbound one does not.
	if _, err := admin.CoreV1().Pods("default").Delete(ctx, "web", &metav1.DeleteOptions{GracePeriodSeconds: proto.Int64(0)}); err != nil {
		t.Fatal(err)
	}
	if code, _ := s.do("GET", "/api/v1/namespaces/default/pods", bound, ""); code != http.StatusUnauthorized {
		t.Errorf("token of a deleted pod: got %d, want 401", code)
	}
	if _, err := s.client(bound).CoreV1().Pods("default").List(ctx, client.ListOptions{}); err == nil {
		t.Error("token of a deleted pod authenticated over gRPC")
	}
	if code, _ := s.do("GET", "/api/v1/namespaces/default/pods", unbound, ""); code != http.StatusOK {
		t.Errorf("unbound token after the pod went: got %d, want 200", code)
	}
	// The account goes: so do its tokens.
	if _, err := admin.CoreV1().ServiceAccounts("default").Delete(ctx, "robot", nil); err != nil {
		t.Fatal(err)
	}
	if code, _ := s.do("GET", "/api/v1/namespaces/default/pods", unbound, ""); code != http.StatusUnauthorized {
		t.Errorf("token of a deleted service account: got %d, want 401", code)
	}
}
