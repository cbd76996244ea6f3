package kubelet

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const probePods = `apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    args: ["-exit", "2"]
---
apiVersion: v1
kind: Pod
metadata: {name: liveness}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    args: ["-unhealthy-after", "2s"]
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: readiness}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    args: ["-unhealthy-after", "25s"]
    readinessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: done}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    args: ["-exit", "0"]
`

// TestProbesAndRestarts: a container that exits non-zero is restarted with
// growing delays (CrashLoopBackOff); a failing liveness probe restarts its
// container; a failing readiness probe makes the pod not ready without a
// restart; a pod that ends with restartPolicy Never succeeds.
func TestProbesAndRestarts(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--container-restart-backoff", "1s", "--container-restart-backoff-max", "8s")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, probePods)

	// readiness: ready while its probe passes (25s).
	framework.Eventually(t, 20*time.Second, "readiness ready", func() error {
		if p := getPod(t, c, "readiness"); !podReady(p) {
			return fmt.Errorf("not ready: %v", p.GetStatus().GetConditions())
		}
		return nil
	})

	// crash: restarts at growing intervals, shows CrashLoopBackOff.
	var restarts []time.Time
	sawBackOff := false
	framework.Eventually(t, 90*time.Second, "crash restarted 4 times", func() error {
		p := getPod(t, c, "crash")
		cs := containerStatus(p)
		if w := cs.GetState().GetWaiting(); w != nil && w.GetReason() == "CrashLoopBackOff" {
			sawBackOff = true
		}
		for int(cs.GetRestartCount()) > len(restarts) {
			restarts = append(restarts, time.Now())
		}
		if len(restarts) < 4 {
			return fmt.Errorf("restartCount %d, state %v", cs.GetRestartCount(), cs.GetState())
		}
		return nil
	})
	if !sawBackOff {
		t.Errorf("crash never showed CrashLoopBackOff")
	}
	first, last := restarts[1].Sub(restarts[0]), restarts[3].Sub(restarts[2])
	if last <= first {
		t.Errorf("restart delays did not grow: %v between restarts 1 and 2, %v between 3 and 4", first, last)
	}
	if p := getPod(t, c, "crash"); containerStatus(p).GetLastState().GetTerminated().GetExitCode() != 2 {
		t.Errorf("crash lastState %v, want terminated with exit code 2", containerStatus(p).GetLastState())
	}

	// liveness: the failing probe restarts the container.
	framework.Eventually(t, 60*time.Second, "liveness restarted", func() error {
		if n := containerStatus(getPod(t, c, "liveness")).GetRestartCount(); n < 1 {
			return fmt.Errorf("restartCount %d", n)
		}
		return nil
	})

	// readiness: not ready once its probe fails, never restarted.
	framework.Eventually(t, 60*time.Second, "readiness not ready", func() error {
		p := getPod(t, c, "readiness")
		if podReady(p) || containerStatus(p).GetReady() {
			return fmt.Errorf("still ready")
		}
		if p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("phase %s, want Running", p.GetStatus().GetPhase())
		}
		return nil
	})
	if n := containerStatus(getPod(t, c, "readiness")).GetRestartCount(); n != 0 {
		t.Errorf("readiness restartCount %d, want 0: a readiness failure must not restart", n)
	}

	// done: Succeeded with exit code 0.
	framework.Eventually(t, 30*time.Second, "done Succeeded", func() error {
		p := getPod(t, c, "done")
		if p.GetStatus().GetPhase() != "Succeeded" {
			return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
		}
		if t := containerStatus(p).GetState().GetTerminated(); t == nil || t.GetReason() != "Completed" {
			return fmt.Errorf("state %v, want terminated Completed", containerStatus(p).GetState())
		}
		return nil
	})
}

func getPod(t *testing.T, c *client.Client, name string) *corev1.Pod {
	t.Helper()
	p, err := c.CoreV1().Pods("default").Get(context.Background(), name)
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

func containerStatus(p *corev1.Pod) *corev1.ContainerStatus {
	if cs := p.GetStatus().GetContainerStatuses(); len(cs) > 0 {
		return cs[0]
	}
	return &corev1.ContainerStatus{}
}
