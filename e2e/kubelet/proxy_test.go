package kubelet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const proxyPods = `apiVersion: v1
kind: Pod
metadata: {name: echo, labels: {app: echo}}
spec:
  containers:
  - name: app
    image: registry.skiff.local/testserver:1.0
    ports: [{containerPort: 8080, name: http}]
    readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: web, port: 80, targetPort: 8080}]
`

// TestProxySubresources: pods/proxy and services/proxy reach the pod's
// port (through its node's kubelet) with the path, query, method and body
// the client sent, straight through the apiserver and through kubectl
// proxy, as Kubernetes' do.
func TestProxySubresources(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, proxyPods)
	framework.Eventually(t, 60*time.Second, "echo ready with its endpoint", func() error {
		if !podReady(getPod(t, c, "echo")) {
			return fmt.Errorf("pod not ready")
		}
		eps, err := c.CoreV1().Endpoints("default").Get(context.Background(), "echo")
		if err != nil || len(eps.GetSubsets()) == 0 || len(eps.GetSubsets()[0].GetAddresses()) == 0 {
			return fmt.Errorf("no ready endpoint yet (%v)", err)
		}
		return nil
	})
	raw := func(path string) string {
		t.Helper()
		out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "get", "--raw", path)
		if err != nil {
			t.Fatalf("kubectl get --raw %s: %v\n%s", path, err, out)
		}
		return out
	}
	const pods, svcs = "/api/v1/namespaces/default/pods/", "/api/v1/namespaces/default/services/"
	for _, tc := range []struct{ path, want string }{
		{pods + "echo:8080/proxy/", "echo\n"},
		{pods + "echo/proxy/echo/x?a=1&b=2", "GET /echo/x?a=1&b=2\n"}, // the first container port
		{pods + "http:echo:8080/proxy/echo/", "GET /echo/\n"},
		{svcs + "echo:web/proxy/", "echo\n"},
		{svcs + "echo:80/proxy/echo/y", "GET /echo/y\n"},
		{svcs + "http:echo:web/proxy/echo/z?q=3", "GET /echo/z?q=3\n"},
		// Pages link back through the proxy, as Kubernetes rewrites them.
		{pods + "echo:8080/proxy/link", `<a href="/api/v1/namespaces/default/pods/echo:8080/proxy/rewriteme">test</a>`},
		{svcs + "echo:web/proxy/link", `<a href="/api/v1/namespaces/default/services/echo:web/proxy/rewriteme">test</a>`},
	} {
		if got := raw(tc.path); got != tc.want {
			t.Errorf("GET %s: got %q, want %q", tc.path, got, tc.want)
		}
	}
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "get", "--raw", svcs+"missing:web/proxy/"); err == nil || !strings.Contains(out, `services "missing" not found`) {
		t.Errorf("a missing service: got %v %q, want NotFound", err, out)
	}

	base := kubectlProxy(t, cl.srv.Kubeconfig())
	// Only reads of .../proxy are redirected; a POST goes on to the root.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	root, err := noFollow.Post(base+pods+"echo/proxy", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	rootBody, _ := io.ReadAll(root.Body)
	root.Body.Close()
	if root.StatusCode != http.StatusOK || string(rootBody) != "echo\n" {
		t.Errorf("POST .../proxy: got %d %q, want the backend's root", root.StatusCode, rootBody)
	}
	post, err := http.Post(base+svcs+"echo:web/proxy/echo/form?v=1", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(post.Body)
	post.Body.Close()
	if want := "POST /echo/form?v=1\nhello"; string(body) != want {
		t.Errorf("POST through kubectl proxy: got %q, want %q", body, want)
	}
	resp, err := noFollow.Get(base + svcs + "echo:web/proxy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || !strings.HasSuffix(loc, "/services/echo:web/proxy/") {
		t.Errorf(".../proxy without a slash: got %d to %q, want 301 to .../proxy/", resp.StatusCode, loc)
	}
	for path, want := range map[string]string{
		svcs + "echo:web/proxy/":            "echo\n",
		pods + "echo:8080/proxy/echo/a%2Fb": "GET /echo/a%2Fb\n", // escapes kept
	} {
		resp, err = http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("GET %s through kubectl proxy: got %d %q, want %q", path, resp.StatusCode, body, want)
		}
	}
}

// kubectlProxy runs kubectl proxy on a free port until the test ends and
// returns its base URL.
func kubectlProxy(t *testing.T, kubeconfig string) string {
	t.Helper()
	framework.Kubectl(t, kubeconfig, "", "version", "--client") // skips without kubectl
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "kubectl", "proxy", "--port=0")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	m := regexp.MustCompile(`Starting to serve on (\S+)`).FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("kubectl proxy said %q (%v)", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return "http://" + m[1]
}
