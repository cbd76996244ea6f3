package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestSecurePort: the scheduler's secure port speaks HTTPS and serves its
// health to anyone, and its metrics and profiles only to the users the
// apiserver authenticates (TokenReview) and authorizes
// (SubjectAccessReview), as the scheduler itself asks it: the admin
// (system:masters), a service account bound to system:monitoring for the
// metrics; nobody else.
func TestSecurePort(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	addr, serve := framework.SecurePort(t)
	framework.StartScheduler(t, srv, append(serve, "--leader-elect=false")...)
	ctx := context.Background()
	c := srv.Client()

	framework.Eventually(t, 30*time.Second, "the secure port serves /healthz to anyone", func() error {
		code, body, err := framework.GetSecure(addr, "/healthz", "")
		if err == nil && (code != 200 || body != "ok") {
			err = fmt.Errorf("%d %s", code, body)
		}
		return err
	})
	for _, path := range []string{"/livez", "/readyz"} {
		if code, body, err := framework.GetSecure(addr, path, ""); err != nil || code != 200 {
			t.Errorf("anonymous %s: %d %s %v", path, code, body, err)
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the secure port answered plain HTTP")
		}
	}

	// Refused: without credentials (403, as Kubernetes' components refuse
	// system:anonymous), with a token the apiserver does not know (401),
	// as a user without the permission (403).
	expectStatus := func(token, path string, code int, message string) {
		t.Helper()
		framework.Eventually(t, 30*time.Second, fmt.Sprintf("GET %s answers %d", path, code), func() error {
			got, body, err := framework.GetSecure(addr, path, token)
			if err != nil {
				return err
			}
			var st struct {
				Kind, Message string
				Code          int
			}
			_ = json.Unmarshal([]byte(body), &st)
			if got != code || st.Kind != "Status" || st.Code != code || st.Message != message {
				return fmt.Errorf("%d %s", got, body)
			}
			return nil
		})
	}
	expectStatus("", "/metrics", 403, `forbidden: User "system:anonymous" cannot get path "/metrics"`)
	expectStatus("", "/debug/pprof/", 403, `forbidden: User "system:anonymous" cannot get path "/debug/pprof/"`)
	expectStatus("forged-token", "/metrics", 401, "Unauthorized")
	expectStatus("forged-token", "/healthz", 401, "Unauthorized")

	token := func(name string) string {
		t.Helper()
		if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: name}}, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tr.GetStatus().GetToken()
	}
	nobody := token("nobody")
	expectStatus(nobody, "/metrics", 403, `forbidden: User "system:serviceaccount:default:nobody" cannot get path "/metrics"`)

	prometheus := token("prometheus")
	binding := `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"prometheus"},` +
		`"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:monitoring"},` +
		`"subjects":[{"kind":"ServiceAccount","name":"prometheus","namespace":"default"}]}`
	if _, err := c.Dynamic(client.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, "").
		Create(ctx, []byte(binding), client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	scrape := func(who, token, path, want string) {
		t.Helper()
		framework.Eventually(t, 30*time.Second, who+" reads "+path, func() error {
			code, body, err := framework.GetSecure(addr, path, token)
			if err == nil && (code != 200 || !strings.Contains(body, want)) {
				err = fmt.Errorf("%d %.300s", code, body)
			}
			return err
		})
	}
	scrape("the admin", srv.AdminToken(), "/metrics", "scheduler_pending_pods")
	scrape("the admin", srv.AdminToken(), "/debug/pprof/", "goroutine")
	scrape("system:monitoring", prometheus, "/metrics", "scheduler_pending_pods")
	// system:monitoring grants the metrics, not the profiles.
	expectStatus(prometheus, "/debug/pprof/", 403, `forbidden: User "system:serviceaccount:default:prometheus" cannot get path "/debug/pprof/"`)
}
