package kubelet

import (
	"fmt"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const deadlinePods = `apiVersion: v1
kind: Pod
metadata: {name: short-lived}
spec:
  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
---
apiVersion: v1
kind: Pod
metadata: {name: shortened}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
`

// TestActiveDeadline: a pod that outlives its activeDeadlineSeconds — set
// at creation, or later on a running pod — has its containers killed and
// ends Failed with Kubernetes' reason and message, and is not restarted
// although its restart policy is Always.
func TestActiveDeadline(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, deadlinePods)
	framework.Eventually(t, 60*time.Second, "shortened running", func() error {
		if p := getPod(t, c, "shortened"); p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
		}
		return nil
	})
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "patch", "pod", "shortened", "-p", `{"spec":{"activeDeadlineSeconds":5}}`); err != nil {
		t.Fatalf("kubectl patch: %v\n%s", err, out)
	}
	for _, name := range []string{"short-lived", "shortened"} {
		framework.Eventually(t, 60*time.Second, name+" failed", func() error {
			p := getPod(t, c, name)
			st := p.GetStatus()
			if st.GetPhase() != "Failed" || st.GetReason() != "DeadlineExceeded" ||
				st.GetMessage() != "Pod was active on the node longer than the specified deadline" {
				return fmt.Errorf("phase %s reason %q message %q", st.GetPhase(), st.GetReason(), st.GetMessage())
			}
			if containerStatus(p).GetState().GetTerminated() == nil {
				return fmt.Errorf("container %v, want terminated", containerStatus(p).GetState())
			}
			return nil
		})
	}
	// kubectl describe tells why, as Kubernetes' kubelet does.
	waitEvents(t, c, "involvedObject.name=short-lived", "DeadlineExceeded", "Killing")
	// Nothing comes back: the relist would see a restarted container
	// within a second.
	consistently(t, 3*time.Second, "short-lived stays ended", func() error {
		p := getPod(t, c, "short-lived")
		if n := len(containersOf(t, cl.ctd, p.GetMetadata().GetUid())); n != 1 {
			return fmt.Errorf("%d containers in the runtime, want the one that ended", n)
		}
		if cs := containerStatus(p); cs.GetRestartCount() != 0 || cs.GetState().GetTerminated() == nil || p.GetStatus().GetPhase() != "Failed" {
			return fmt.Errorf("phase %s, container %v, restarts %d; want Failed, terminated, no restart",
				p.GetStatus().GetPhase(), cs.GetState(), cs.GetRestartCount())
		}
		return nil
	})
}

// consistently checks cond every 100ms for d and fails at the first
// error: for what must not happen.
func consistently(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		if err := cond(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}
