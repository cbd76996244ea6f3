package kubelet

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const eventPods = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.skiff.local/testserver:1.0
---
apiVersion: v1
kind: Pod
metadata: {name: no-image}
spec:
  containers:
  - name: app
    image: registry.skiff.local/no-such-image:1.0
---
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - name: app
    image: registry.skiff.local/testserver:1.0
    args: ["-exit", "3"]
`

// TestEvents: what kubectl get events and kubectl describe show is what
// Kubernetes' components write — the rollout of a Deployment (scaling,
// pod creation, scheduling, the kubelet's container events), an image
// that cannot be pulled, a container in CrashLoopBackOff and the node's
// own events.
func TestEvents(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--container-restart-backoff", "1s", "--container-restart-backoff-max", "4s")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, eventPods)
	kubectl := func(args ...string) string {
		t.Helper()
		out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", args...)
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return out
	}
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "rollout", "status", "deployment/web", "--timeout=60s"); err != nil {
		t.Fatalf("rollout status: %v\n%s", err, out)
	}

	t.Run("rollout", func(t *testing.T) {
		waitEvents(t, c, "involvedObject.kind=Deployment,involvedObject.name=web", "ScalingReplicaSet")
		waitEvents(t, c, "involvedObject.kind=ReplicaSet", "SuccessfulCreate", "SuccessfulCreate")
		out := kubectl("get", "events")
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`Normal\s+ScalingReplicaSet\s+deployment/web\s+Scaled up replica set web-\w+ to 2`),
			regexp.MustCompile(`Normal\s+SuccessfulCreate\s+replicaset/web-\w+\s+Created pod: web-\w+-\w+`),
			regexp.MustCompile(`Normal\s+Scheduled\s+pod/web-\w+-\w+\s+Successfully assigned default/web-\w+-\w+ to node-a`),
			regexp.MustCompile(`Normal\s+Pulled\s+pod/web-\w+-\w+\s+Container image "registry.skiff.local/testserver:1.0" already present on machine`),
			regexp.MustCompile(`Normal\s+Created\s+pod/web-\w+-\w+\s+Created container: web`),
			regexp.MustCompile(`Normal\s+Started\s+pod/web-\w+-\w+\s+Started container web`),
		} {
			if !want.MatchString(out) {
				t.Errorf("kubectl get events: no line matching %s in\n%s", want, out)
			}
		}
	})

	t.Run("image pull failure", func(t *testing.T) {
		waitEvents(t, c, "involvedObject.name=no-image", "Failed", "BackOff")
		out := kubectl("describe", "pod", "no-image")
		for _, want := range []string{
			`Normal   Pulling    `, `Pulling image "registry.skiff.local/no-such-image:1.0"`,
			`Warning  Failed     `, `Failed to pull image "registry.skiff.local/no-such-image:1.0": `,
			`Error: ErrImagePull`,
			`Normal   BackOff    `, `Back-off pulling image "registry.skiff.local/no-such-image:1.0"`,
			`Error: ImagePullBackOff`,
			`kubelet  `,
		} {
			if !strings.Contains(eventsSection(out), want) {
				t.Errorf("kubectl describe pod no-image: events lack %q:\n%s", want, out)
			}
		}
	})

	t.Run("crash loop", func(t *testing.T) {
		waitEvents(t, c, "involvedObject.name=crasher", "BackOff")
		out := kubectl("describe", "pod", "crasher")
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default/crasher to node-a`),
			regexp.MustCompile(`Normal\s+Created\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Created container: app`),
			regexp.MustCompile(`Normal\s+Started\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Started container app`),
			regexp.MustCompile(`Warning\s+BackOff\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Back-off restarting failed container app in pod crasher_default\(`),
		} {
			if !want.MatchString(eventsSection(out)) {
				t.Errorf("kubectl describe pod crasher: no event matching %s in\n%s", want, out)
			}
		}
	})

	t.Run("node", func(t *testing.T) {
		waitEvents(t, c, "involvedObject.kind=Node,involvedObject.name=node-a", "Starting", "NodeReady", "RegisteredNode")
		out := kubectl("describe", "node", "node-a")
		for _, want := range []string{"Starting kubelet.", "Node node-a status is now: NodeReady",
			"Node node-a status is now: NodeHasSufficientMemory", "Node node-a event: Registered Node node-a in Controller"} {
			if !strings.Contains(eventsSection(out), want) {
				t.Errorf("kubectl describe node: events lack %q:\n%s", want, out)
			}
		}
	})
}

// waitEvents waits until the events the field selector picks include
// every reason given (a reason given twice needs two events).
func waitEvents(t *testing.T, c *client.Client, selector string, reasons ...string) {
	t.Helper()
	framework.Eventually(t, 60*time.Second, fmt.Sprintf("events %v for %s", reasons, selector), func() error {
		list, err := c.CoreV1().Events("default").List(context.Background(), client.ListOptions{FieldSelector: selector})
		if err != nil {
			return err
		}
		have := map[string]int{}
		for _, ev := range list.GetItems() {
			have[ev.GetReason()]++
		}
		for _, r := range reasons {
			if have[r] == 0 {
				return fmt.Errorf("no %s event yet (have %v)", r, have)
			}
			have[r]--
		}
		return nil
	})
}

// eventsSection is the Events part of kubectl describe's output.
func eventsSection(describe string) string {
	if i := strings.Index(describe, "\nEvents:"); i >= 0 {
		return describe[i:]
	}
	return ""
}
