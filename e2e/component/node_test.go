package component

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	componentv1 "skiff.dev/api/component/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestNodeZPages: the kubelet and the proxy answer /readyz on their plain
// health port once their informers have synced, and /statusz, /flagz and
// /configz as JSON on their HTTPS port to an authorized reader, and the
// same answers over gRPC on that port, refusing anonymous readers.
func TestNodeZPages(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	token := srv.AdminToken()
	t.Run("kubelet", func(t *testing.T) {
		health := "127.0.0.1:" + strconv.Itoa(framework.FreePort(t))
		k := framework.StartFakeKubelet(t, srv, "zpages-node", "--healthz-bind-address", health)
		addr := "127.0.0.1:" + strconv.Itoa(k.Port)
		status := readyNode(t, health, addr, token, "kubelet")
		flagz, configz := zpagesAgree(t, addr, token, status)
		if got, want := flagz.GetFlags()["port"], strconv.Itoa(k.Port); got != want {
			t.Errorf("/flagz port: got %q, want %q", got, want)
		}
		if got := configz.GetConfig().GetFields()["Kubeconfig"].GetStringValue(); got != k.Kubeconfig {
			t.Errorf("/configz Kubeconfig: got %q, want %q", got, k.Kubeconfig)
		}
	})
	t.Run("proxy", func(t *testing.T) {
		p := startProxy(t, srv)
		status := readyNode(t, p.health, p.metrics, token, "proxy")
		flagz, configz := zpagesAgree(t, p.metrics, token, status)
		if got := flagz.GetFlags()["metrics-bind-address"]; got != proxyMetrics {
			t.Errorf("/flagz metrics-bind-address: got %q, want %q", got, proxyMetrics)
		}
		if got := configz.GetConfig().GetFields()["Kubeconfig"].GetStringValue(); got != p.kubeconfig {
			t.Errorf("/configz Kubeconfig: got %q, want %q", got, p.kubeconfig)
		}
	})
}

// TestProxyReadyzFollowsSync: a proxy whose identity may not list
// Services and EndpointSlices (its system:node-proxier binding deleted)
// answers /readyz on its health port with 500 and the failed
// informer-sync check, and logs why at warn; given the binding back, it
// syncs and /readyz answers ok.
func TestProxyReadyzFollowsSync(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	ctx := context.Background()
	bindings := srv.Client().Dynamic(clusterRoleBindings, "")
	if _, err := bindings.Delete(ctx, "system:node-proxier", nil); err != nil {
		t.Fatalf("delete the proxy's binding: %v", err)
	}
	p := startProxy(t, srv)
	framework.Eventually(t, 30*time.Second, "/readyz fails the informer-sync check", func() error {
		code, body, err := getPlain(p.health, "/readyz")
		if err == nil && (code != 500 || !strings.Contains(body, "[-]informer-sync failed")) {
			err = fmt.Errorf("got %d %q, want 500 with [-]informer-sync failed", code, body)
		}
		return err
	})
	// Each poll asks /readyz again: the first failed check may have run
	// before the first list failed, when the reason was "not synced yet".
	framework.Eventually(t, 30*time.Second, "the proxy logs why", func() error {
		_, _, _ = getPlain(p.health, "/readyz")
		if logs := p.Logs(); !strings.Contains(logs, `level=WARN msg="readiness check failed" check=informer-sync`) ||
			!strings.Contains(logs, "list failed: ") {
			return fmt.Errorf("the proxy's log does not say why it is not ready:\n%s", logs)
		}
		return nil
	})
	binding := `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"system:node-proxier"},` +
		`"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:node-proxier"},` +
		`"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"system:kube-proxy"}]}`
	if _, err := bindings.Create(ctx, []byte(binding), client.WriteOptions{}); err != nil {
		t.Fatalf("give the binding back: %v", err)
	}
	framework.Eventually(t, 90*time.Second, "/readyz answers ok once the informers sync", func() error {
		code, body, err := getPlain(p.health, "/readyz")
		if err == nil && (code != 200 || body != "ok") {
			err = fmt.Errorf("got %d %q, want 200 ok", code, body)
		}
		return err
	})
}

// The proxy's ports inside its namespace, as kube-proxy's defaults.
const (
	proxyHealth  = "127.0.0.1:10256"
	proxyMetrics = "127.0.0.1:10249"
)

// proxy is a proxy process with the host addresses of its health and
// metrics ports, and its kubeconfig.
type proxy struct {
	*framework.Process
	health, metrics, kubeconfig string
}

// startProxy runs a proxy in a namespace of its own, where it programs
// its rules.
func startProxy(t *testing.T, srv *framework.APIServer) *proxy {
	t.Helper()
	framework.NeedNetns(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft not installed")
	}
	node := framework.NewNetns(t, "skz-node")
	kubeconfig := framework.ForwardAPIServer(t, srv, node, "proxy")
	proc := framework.StartProxy(t, node, kubeconfig, "--hostname-override", "zpages-node",
		"--healthz-bind-address", proxyHealth, "--metrics-bind-address", proxyMetrics)
	return &proxy{Process: proc, health: framework.Expose(t, node, proxyHealth),
		metrics: framework.Expose(t, node, proxyMetrics), kubeconfig: kubeconfig}
}

// readyNode waits for /readyz on the plain health port to answer ok, and
// returns /statusz of the secure port addr, which must say the same and
// show no leader election.
func readyNode(t *testing.T, health, addr, token, name string) *componentv1.StatuszResponse {
	t.Helper()
	framework.Eventually(t, 60*time.Second, name+"'s /readyz answers ok", func() error {
		code, body, err := getPlain(health, "/readyz")
		if err == nil && (code != 200 || body != "ok") {
			err = fmt.Errorf("got %d %q, want 200 ok", code, body)
		}
		return err
	})
	status := &componentv1.StatuszResponse{}
	framework.Eventually(t, 30*time.Second, name+"'s /statusz answers", func() error {
		return getJSON(addr, "/statusz", token, status)
	})
	if status.GetComponent() != name || !status.GetReady() || status.GetLeaderElection() != nil || status.GetStartTime() == nil {
		t.Errorf("/statusz: got %v, want component %s, ready, no leader election, a start time", status, name)
	}
	return status
}

// getPlain fetches http://addr/path.
func getPlain(addr, path string) (int, string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
