package kubelet

import (
	"context"
	"fmt"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/e2e/framework"
)

const crashingPod = `apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [exit, "1"]
`

// TestRestartCountSurvivesKubeletRestart: a crashing container's
// restartCount goes on from where it was after the kubelet restarts, and
// after its sandbox died and was replaced (the old containers gone with
// it), never back to 0.
func TestRestartCountSurvivesKubeletRestart(t *testing.T) {
	cl := startCluster(t)
	flags := []string{"--container-restart-backoff", "1s", "--container-restart-backoff-max", "2s"}
	k := framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", flags...)
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, crashingPod)
	var before int32
	framework.Eventually(t, 60*time.Second, "crasher restarted twice", func() error {
		if before = containerStatus(getPod(t, c, "crasher")).GetRestartCount(); before < 2 {
			return fmt.Errorf("restartCount %d", before)
		}
		return nil
	})
	k.Kill()
	k.Restart()
	framework.Eventually(t, 60*time.Second, "crasher restarted again", func() error {
		n := containerStatus(getPod(t, c, "crasher")).GetRestartCount()
		if n < before {
			t.Fatalf("restartCount went from %d back to %d after the kubelet restart", before, n)
		}
		if n < before+2 {
			return fmt.Errorf("restartCount %d, want at least %d", n, before+2)
		}
		return nil
	})

	p := getPod(t, c, "crasher")
	before = containerStatus(p).GetRestartCount()
	sandboxes := sandboxesOf(t, cl.ctd, p.GetMetadata().GetUid())
	if len(sandboxes) != 1 {
		t.Fatalf("%d sandboxes, want 1", len(sandboxes))
	}
	// As if the sandbox died; a container starting meanwhile can make
	// one try fail.
	framework.Eventually(t, 30*time.Second, "sandbox stopped", func() error {
		_, err := cl.ctd.RuntimeClient().StopPodSandbox(context.Background(), &runtimeapi.StopPodSandboxRequest{PodSandboxId: sandboxes[0].GetId()})
		return err
	})
	framework.Eventually(t, 60*time.Second, "crasher restarted in a new sandbox", func() error {
		if ids := sandboxesOf(t, cl.ctd, p.GetMetadata().GetUid()); len(ids) != 1 || ids[0].GetId() == sandboxes[0].GetId() {
			return fmt.Errorf("sandboxes %v, want one new", ids)
		}
		n := containerStatus(getPod(t, c, "crasher")).GetRestartCount()
		if n < before {
			t.Fatalf("restartCount went from %d back to %d in the new sandbox", before, n)
		}
		if n <= before {
			return fmt.Errorf("restartCount %d, want more than %d", n, before)
		}
		return nil
	})
}
