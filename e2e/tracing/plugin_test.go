package tracing

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// TestKubectlSkiffTrace: with Jaeger as the collector, `kubectl skiff
// trace deployment/NAME` through the real kubectl prints the waterfall of
// the Deployment's trace with every component in it, and says clearly
// when the object or the collector is missing.
//
// It needs the Jaeger binary (make jaeger, or $SKIFF_JAEGER). With
// $SKIFF_E2E_OTLP_ENDPOINT and $SKIFF_TRACES_URL it uses a Jaeger already
// running there instead; $SKIFF_E2E_HOLD (a duration) keeps the cluster up
// that long at the end, for trying the plugin by hand.
func TestKubectlSkiffTrace(t *testing.T) {
	otlp, tracesURL := os.Getenv("SKIFF_E2E_OTLP_ENDPOINT"), os.Getenv("SKIFF_TRACES_URL")
	if otlp == "" || tracesURL == "" {
		framework.NeedRuntime(t)
		otlp, tracesURL = startJaeger(t)
	}
	cl := startCluster(t, otlp)
	t.Setenv("PATH", buildPlugin(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("SKIFF_TRACES_URL", tracesURL)
	cl.apply(t, deployment("shop"))
	cl.waitRunning(t, "shop", 2)

	want := []string{"apiserver", "POST /apis/apps/v1/namespaces/default/deployments", "reconcile deployment",
		"reconcile replicaset", "schedule pod", "bind pod", "RunPodSandbox", "CreateContainer", "StartContainer"}
	var out string
	framework.Eventually(t, 60*time.Second, "kubectl skiff trace shows every component", func() error {
		var err error
		out, err = framework.Kubectl(t, cl.srv.Kubeconfig(), "", "skiff", "trace", "deployment/shop", "--width", "130")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				return fmt.Errorf("no %q in:\n%s", w, out)
			}
		}
		return nil
	})
	t.Logf("kubectl skiff trace deployment/shop:\n%s", out)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing object", []string{"deployment/nope"}, `deployment default/nope not found`},
		{"other namespace", []string{"deploy", "shop", "-n", "kube-system"}, `deployment kube-system/shop not found`},
		{"unknown type", []string{"gadget/shop"}, `doesn't have a resource type "gadget"`},
		{"collector down", []string{"deployment/shop", "--traces-url", "http://127.0.0.1:" + strconv.Itoa(framework.FreePort(t))}, "cannot reach the trace collector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", append([]string{"skiff", "trace"}, tc.args...)...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("got %v: %s, want a failure saying %q", err, out, tc.want)
			}
		})
	}
	hold(t, cl)
}

// hold keeps the cluster up for $SKIFF_E2E_HOLD.
func hold(t *testing.T, cl *cluster) {
	d, err := time.ParseDuration(os.Getenv("SKIFF_E2E_HOLD"))
	if err != nil || d <= 0 {
		return
	}
	t.Logf("holding for %v: KUBECONFIG=%s PATH=%s", d, cl.srv.Kubeconfig(), os.Getenv("PATH"))
	time.Sleep(d) // deliberately idle: a person is trying the plugin
}

// buildPlugin builds kubectl-skiff into a directory for the PATH.
func buildPlugin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-skiff"), "skiff.dev/cmd/kubectl-skiff")
	cmd.Dir = framework.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build kubectl-skiff: %v\n%s", err, out)
	}
	return dir
}

// startJaeger runs Jaeger with deploy/jaeger/config.yaml on free ports and
// returns its OTLP/gRPC address and query URL.
func startJaeger(t *testing.T) (otlp, queryURL string) {
	t.Helper()
	bin := os.Getenv("SKIFF_JAEGER")
	if bin == "" {
		bin = filepath.Join(framework.RepoRoot(), "bin", "jaeger")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("needs the Jaeger binary (make jaeger, or $SKIFF_JAEGER): %v", err)
	}
	otlp = "127.0.0.1:" + strconv.Itoa(framework.FreePort(t))
	query := "127.0.0.1:" + strconv.Itoa(framework.FreePort(t))
	cmd := exec.Command(bin, "--config", filepath.Join(framework.RepoRoot(), "deploy", "jaeger", "config.yaml"))
	cmd.Env = append(os.Environ(), "JAEGER_OTLP_GRPC="+otlp, "JAEGER_QUERY_HTTP="+query,
		"JAEGER_QUERY_GRPC=127.0.0.1:"+strconv.Itoa(framework.FreePort(t)))
	logs := &framework.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start jaeger: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("jaeger logs:\n%s", logs.String())
		}
	})
	queryURL = "http://" + query
	framework.Eventually(t, 30*time.Second, "jaeger answers queries", func() error {
		select {
		case <-done:
			return fmt.Errorf("jaeger exited:\n%s", logs.String())
		default:
		}
		resp, err := http.Get(queryURL + "/api/services")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /api/services: %s", resp.Status)
		}
		return nil
	})
	return otlp, queryURL
}
