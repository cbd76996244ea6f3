package kubelet

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const steadyPods = `apiVersion: v1
kind: Pod
metadata: {name: steady}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    readinessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: orphan}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
`

// TestKubeletRestart: a killed kubelet leaves its containers running; when
// it comes back it adopts them without restarting them, keeps the pod
// statuses right, and removes the containers of a pod deleted meanwhile.
func TestKubeletRestart(t *testing.T) {
	cl := startCluster(t)
	k := framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	ctx := context.Background()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, steadyPods)
	for _, name := range []string{"steady", "orphan"} {
		framework.Eventually(t, 60*time.Second, name+" running and ready", func() error {
			if p := getPod(t, c, name); p.GetStatus().GetPhase() != "Running" || !containerStatus(p).GetReady() {
				return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
			}
			return nil
		})
	}
	before := getPod(t, c, "steady")
	id := strings.TrimPrefix(containerStatus(before).GetContainerId(), "containerd://")
	orphanUID := getPod(t, c, "orphan").GetMetadata().GetUid()

	k.Kill()
	if state := containerState(t, cl.ctd, id); state != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("container of steady is %v after the kubelet died, want running", state)
	}
	// Deleted for good while the kubelet is away.
	zero := int64(0)
	if _, err := c.CoreV1().Pods("default").Delete(ctx, "orphan", &metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatalf("delete orphan: %v", err)
	}
	k.Restart()

	framework.Eventually(t, 30*time.Second, "orphan's sandbox removed", func() error {
		if n := len(sandboxesOf(t, cl.ctd, orphanUID)); n != 0 {
			return fmt.Errorf("%d sandboxes left", n)
		}
		return nil
	})
	// A new pod runs, so the kubelet is working, and steady was left alone.
	cl.apply(t, strings.ReplaceAll(steadyPods[:strings.Index(steadyPods, "---")], "name: steady", "name: newcomer"))
	framework.Eventually(t, 60*time.Second, "newcomer ready", func() error {
		if p := getPod(t, c, "newcomer"); !containerStatus(p).GetReady() {
			return fmt.Errorf("%v", containerStatus(p).GetState())
		}
		return nil
	})
	after := getPod(t, c, "steady")
	cs := containerStatus(after)
	if cs.GetContainerId() != containerStatus(before).GetContainerId() || cs.GetRestartCount() != 0 || !cs.GetReady() || !podReady(after) {
		t.Errorf("steady after the kubelet restart: %v, ready %v; want the same container %s, not restarted, ready",
			cs, podReady(after), containerStatus(before).GetContainerId())
	}
	if n := len(containersOf(t, cl.ctd, after.GetMetadata().GetUid())); n != 1 {
		t.Errorf("steady has %d containers in the runtime, want 1", n)
	}
}

// TestNodeFailover: a kubelet stopped for longer than the grace period
// makes its node NotReady, and its pods are recreated on the other node.
func TestNodeFailover(t *testing.T) {
	cl := startCluster(t, "--node-monitor-period", "1s", "--node-monitor-grace-period", "4s")
	a := framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--node-lease-duration-seconds", "4")
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-b", "--node-lease-duration-seconds", "4")
	c := cl.srv.Client()
	ctx := context.Background()
	framework.WaitNodeReady(t, c, "node-a")
	framework.WaitNodeReady(t, c, "node-b")
	cl.apply(t, strings.Replace(deployment, "      terminationGracePeriodSeconds: 5\n", `      terminationGracePeriodSeconds: 5
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
`, 1))
	readyOn := func(node string) (int, error) {
		list, err := c.CoreV1().Pods("default").List(ctx, client.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return 0, err
		}
		n := 0
		for _, p := range list.GetItems() {
			if p.GetSpec().GetNodeName() == node && p.GetMetadata().GetDeletionTimestamp() == nil && podReady(p) {
				n++
			}
		}
		return n, nil
	}
	framework.Eventually(t, 90*time.Second, "2 pods ready", func() error {
		na, err := readyOn("node-a")
		if err != nil {
			return err
		}
		nb, _ := readyOn("node-b")
		if na+nb != 2 || na == 0 {
			// The scheduler spreads the two pods; a pod on node-a is what
			// this test needs.
			return fmt.Errorf("%d on node-a, %d on node-b", na, nb)
		}
		return nil
	})

	a.Stop()
	framework.Eventually(t, 60*time.Second, "node-a not ready", func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, "node-a")
		if err != nil {
			return err
		}
		for _, cond := range n.GetStatus().GetConditions() {
			if cond.GetType() == "Ready" && cond.GetStatus() != "True" {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", n.GetStatus().GetConditions())
	})
	framework.Eventually(t, 90*time.Second, "2 pods ready on node-b", func() error {
		if nb, err := readyOn("node-b"); err != nil || nb != 2 {
			return fmt.Errorf("%d ready on node-b (%v)", nb, err)
		}
		return nil
	})
}

func containerState(t *testing.T, ctd *framework.Containerd, id string) runtimeapi.ContainerState {
	t.Helper()
	resp, err := ctd.RuntimeClient().ContainerStatus(context.Background(), &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatalf("container status: %v", err)
	}
	return resp.GetStatus().GetState()
}

func containersOf(t *testing.T, ctd *framework.Containerd, uid string) []*runtimeapi.Container {
	t.Helper()
	resp, err := ctd.RuntimeClient().ListContainers(context.Background(), &runtimeapi.ListContainersRequest{
		Filter: &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"io.kubernetes.pod.uid": uid}}})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	return resp.GetContainers()
}
