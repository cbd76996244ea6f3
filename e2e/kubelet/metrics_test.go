package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestMetricsNeedAuthorization: the kubelet serves /metrics and its
// profiles on its HTTPS port to the users the apiserver authorizes for
// the Node's nodes/metrics and nodes/proxy, asking it as the node itself:
// the admin, and system:monitoring for the metrics only.
func TestMetricsNeedAuthorization(t *testing.T) {
	cl := startCluster(t)
	k := framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	addr := "127.0.0.1:" + strconv.Itoa(k.Port)
	ctx := context.Background()

	expect := func(token, path string, code int, message string) {
		t.Helper()
		framework.Eventually(t, 30*time.Second, fmt.Sprintf("GET %s answers %d", path, code), func() error {
			got, body, err := framework.GetSecure(addr, path, token)
			if err != nil {
				return err
			}
			var st struct{ Message string }
			_ = json.Unmarshal([]byte(body), &st)
			if got != code || message != "" && st.Message != message {
				return fmt.Errorf("%d %.300s", got, body)
			}
			return nil
		})
	}
	expect("", "/metrics", 403, `nodes "node-a" is forbidden: User "system:anonymous" cannot get resource "nodes/metrics" in API group "" at the cluster scope`)
	expect("forged", "/metrics", 401, "Unauthorized")
	expect(cl.srv.AdminToken(), "/metrics", 200, "")
	expect(cl.srv.AdminToken(), "/debug/pprof/", 200, "")

	if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: "prometheus"}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "prometheus", nil)
	if err != nil {
		t.Fatal(err)
	}
	binding := `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"prometheus"},` +
		`"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:monitoring"},` +
		`"subjects":[{"kind":"ServiceAccount","name":"prometheus","namespace":"default"}]}`
	if _, err := c.Dynamic(client.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, "").
		Create(ctx, []byte(binding), client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The kubelet keeps a refusal 30s: the first answer may predate the
	// binding.
	framework.Eventually(t, 60*time.Second, "system:monitoring reads the metrics", func() error {
		code, body, err := framework.GetSecure(addr, "/metrics", tr.GetStatus().GetToken())
		if err == nil && code != 200 {
			err = fmt.Errorf("%d %.300s", code, body)
		}
		return err
	})
	expect(tr.GetStatus().GetToken(), "/debug/pprof/", 403,
		`nodes "node-a" is forbidden: User "system:serviceaccount:default:prometheus" cannot get resource "nodes/proxy" in API group "" at the cluster scope`)
}
