package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestGracefulDeletion: deleting a pod runs its preStop hook, sends
// SIGTERM, and kills a container that ignores it once the grace period is
// over, long before the container would have exited on its own.
func TestGracefulDeletion(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	shared := t.TempDir()
	cl.apply(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    args: ["-term-delay", "10m"]
    lifecycle:
      preStop:
        exec: {command: ["touch", "/shared/prestop-ran"]}
    volumeMounts:
    - {name: shared, mountPath: /shared}
  volumes:
  - name: shared
    hostPath: {path: %q, type: Directory}
`, shared))
	framework.Eventually(t, 60*time.Second, "stubborn running", func() error {
		if p := getPod(t, c, "stubborn"); p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("phase %s", p.GetStatus().GetPhase())
		}
		return nil
	})
	uid := getPod(t, c, "stubborn").GetMetadata().GetUid()
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "delete", "pod", "stubborn", "--wait=false"); err != nil {
		t.Fatalf("kubectl delete: %v\n%s", err, out)
	}
	// The container ignores SIGTERM for ten minutes: only the grace period
	// ends it.
	framework.Eventually(t, 60*time.Second, "stubborn gone", func() error {
		if _, err := c.CoreV1().Pods("default").Get(context.Background(), "stubborn"); !client.IsNotFound(err) {
			return fmt.Errorf("pod still there (%v)", err)
		}
		if n := len(sandboxesOf(t, cl.ctd, uid)); n != 0 {
			return fmt.Errorf("%d sandboxes left", n)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(shared, "prestop-ran")); err != nil {
		t.Errorf("the preStop hook did not run: %v", err)
	}
}
