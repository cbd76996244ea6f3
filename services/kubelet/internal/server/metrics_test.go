package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"skiff.dev/pkg/healthz"
)

// reviewer answers for the apiserver: one token, and who may do what.
type reviewer struct {
	mu    sync.Mutex
	users map[string]healthz.User
	asked []healthz.Attributes
	allow map[string]bool // "user subresource"
}

func (r *reviewer) ReviewToken(_ context.Context, token string) (healthz.User, bool, error) {
	u, ok := r.users[token]
	return u, ok, nil
}

func (r *reviewer) Authorize(_ context.Context, u healthz.User, a healthz.Attributes) (bool, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, a)
	return r.allow[u.Name+" "+a.Subresource], "", nil
}

// TestMetricsAndProfiles: /metrics and /debug/pprof/ are served to the
// users the apiserver authorizes for this node's nodes/metrics and
// nodes/proxy, by token or client certificate; the other paths still
// take client certificates only.
func TestMetricsAndProfiles(t *testing.T) {
	p := newPKI(t)
	r := &reviewer{
		users: map[string]healthz.User{"prom-token": {Name: "prometheus"}, "bob-token": {Name: "bob"}},
		allow: map[string]bool{"prometheus metrics": true, "apiserver proxy": true},
	}
	s, err := New(Config{NodeName: "n1", PKIDir: t.TempDir(), ClientCAFile: p.caFile, Runtime: &fakeRuntime{},
		Metrics: pages(map[string]string{"/metrics": "metrics", "/debug/pprof/": "profiles"}), Reviewer: r})
	if err != nil {
		t.Fatal(err)
	}
	url, anonymous := start(t, s, nil)
	_, withCert := start(t, s, &p.client)
	call := func(c *http.Client, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		name, path, token string
		cert              bool
		code              int
		want              string
	}{
		{"authorized token, metrics", "/metrics", "prom-token", false, 200, "metrics"},
		{"authorized token, profiles", "/debug/pprof/", "prom-token", false, 403,
			`nodes \"n1\" is forbidden: User \"prometheus\" cannot get resource \"nodes/proxy\" in API group \"\" at the cluster scope`},
		{"unauthorized token", "/metrics", "bob-token", false, 403, `cannot get resource \"nodes/metrics\"`},
		{"bad token", "/metrics", "forged", false, 401, "Unauthorized"},
		{"anonymous", "/metrics", "", false, 403, `User \"system:anonymous\" cannot get resource \"nodes/metrics\"`},
		{"certificate, profiles", "/debug/pprof/", "", true, 200, "profiles"},
		{"token on a certificate-only path", "/containerLogs/ns/web/app", "prom-token", false, 401, ""},
	} {
		c := anonymous
		if tc.cert {
			c = withCert
		}
		if code, body := call(c, tc.path, tc.token); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, body, tc.code, tc.want)
		}
	}
	for _, a := range r.asked {
		if !a.ResourceRequest || a.Resource != "nodes" || a.Name != "n1" || a.APIVersion != "v1" || a.Verb != "get" {
			t.Errorf("asked about %+v", a)
		}
	}
}

// pages serves each path's text.
func pages(texts map[string]string) http.Handler {
	mux := http.NewServeMux()
	for path, text := range texts {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(text)) })
	}
	return mux
}
