package kubelet

import (
	"fmt"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const initializingPod = `apiVersion: v1
kind: Pod
metadata: {name: initializing}
spec:
  initContainers:
  - name: setup
    image: registry.skiff.local/testserver:1.0
    command: [sleep, "4"]
  containers:
  - name: app
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
`

// TestPodInitializing: while its init containers run, a pod's app
// containers wait with Kubernetes' reason PodInitializing, not
// ContainerCreating.
func TestPodInitializing(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, initializingPod)
	framework.Eventually(t, 60*time.Second, "setup running", func() error {
		p := getPod(t, c, "initializing")
		if ics := p.GetStatus().GetInitContainerStatuses(); len(ics) != 1 || ics[0].GetState().GetRunning() == nil {
			return fmt.Errorf("init containers %v", ics)
		}
		if w := containerStatus(p).GetState().GetWaiting(); w.GetReason() != "PodInitializing" {
			t.Fatalf("app while setup runs: %v, want waiting PodInitializing", containerStatus(p).GetState())
		}
		return nil
	})
	framework.Eventually(t, 60*time.Second, "app running", func() error {
		if p := getPod(t, c, "initializing"); containerStatus(p).GetState().GetRunning() == nil {
			return fmt.Errorf("app %v", containerStatus(p).GetState())
		}
		return nil
	})
}
