package kubelet

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/containerdconf"
)

const runtimeClasses = `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: preconfigured}
handler: test-handler
overhead:
  podFixed: {cpu: 10m, memory: 1Mi}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: unconfigured}
handler: unconfigured-handler
---
apiVersion: v1
kind: Pod
metadata: {name: sandboxed}
spec:
  runtimeClassName: preconfigured
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: registry.skiff.local/testserver:1.0
---
apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec:
  runtimeClassName: unconfigured
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: registry.skiff.local/testserver:1.0
`

// TestRuntimeClassHandler: the kubelet runs a pod of a RuntimeClass with
// the class's handler (RunPodSandbox's runtime_handler): the conformance
// suite's preconfigured test-handler, which the node's containerd has as
// runc, runs the pod; a handler the runtime lacks leaves the pod Pending
// with a FailedCreatePodSandBox event naming the handler, as Kubernetes'.
func TestRuntimeClassHandler(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	ctx := context.Background()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, runtimeClasses)
	pods := c.CoreV1().Pods("default")

	var running *corev1.Pod
	framework.Eventually(t, 90*time.Second, "the test-handler pod runs", func() error {
		p, err := pods.Get(ctx, "sandboxed")
		if err != nil {
			return err
		}
		if p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), summary([]*corev1.Pod{p}))
		}
		running = p
		return nil
	})
	if o := running.GetSpec().GetOverhead(); o["cpu"].GetString_() != "10m" || o["memory"].GetString_() != "1Mi" {
		t.Errorf("overhead of the running pod: got %v, want the class's cpu 10m, memory 1Mi", o)
	}
	sandboxes := sandboxesOf(t, cl.ctd, running.GetMetadata().GetUid())
	if len(sandboxes) == 0 || sandboxes[0].GetRuntimeHandler() != containerdconf.TestHandler {
		t.Errorf("the pod's sandboxes: got %v, want one run by %s", sandboxes, containerdconf.TestHandler)
	}

	framework.Eventually(t, 60*time.Second, "a FailedCreatePodSandBox event names the unconfigured handler", func() error {
		list, err := c.CoreV1().Events("default").List(ctx, client.ListOptions{FieldSelector: "involvedObject.name=nowhere,reason=FailedCreatePodSandBox"})
		if err != nil {
			return err
		}
		for _, ev := range list.GetItems() {
			if strings.Contains(ev.GetMessage(), "unconfigured-handler") {
				return nil
			}
		}
		return fmt.Errorf("events so far: %v", list.GetItems())
	})
	p, err := pods.Get(ctx, "nowhere")
	if err != nil {
		t.Fatal(err)
	}
	if p.GetStatus().GetPhase() != "Pending" {
		t.Errorf("the pod of an unconfigured handler: got phase %s, want Pending", p.GetStatus().GetPhase())
	}
}
