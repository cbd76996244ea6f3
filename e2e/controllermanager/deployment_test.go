package controllermanager

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// cluster is an apiserver, a scheduler, a controller-manager and a stand-in
// kubelet with two nodes, driven with kubectl.
type cluster struct {
	*env
	kubelet *framework.StandInKubelet
}

// startCluster starts the cluster; flags go to the controller-manager.
func startCluster(t *testing.T, flags ...string) *cluster {
	t.Helper()
	e := setup(t, flags...)
	framework.StartScheduler(t, e.srv, "--leader-elect=false")
	k := framework.StartStandInKubelet(t, e.c, "node-a", "node-b")
	return &cluster{env: e, kubelet: k}
}

func (c *cluster) kubectl(stdin string, args ...string) string {
	c.t.Helper()
	out, err := framework.Kubectl(c.t, c.srv.Kubeconfig(), stdin, args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.local/web:v1
`

// rolloutWatch checks every state of the web pods it observes: never
// more than replicas+maxSurge live pods, never fewer than
// replicas-maxUnavailable ready ones.
type rolloutWatch struct {
	mu         sync.Mutex
	violations []string
	states     int
	pods       *informer.Informer[*corev1.Pod]
}

func watchRollout(ctx context.Context, c *client.Client, maxPods, minReady int) *rolloutWatch {
	w := &rolloutWatch{}
	w.pods = informer.New(informer.FromResource(c.CoreV1().Pods("default").Resource),
		informer.Options[*corev1.Pod]{LabelSelector: "app=web"})
	check := func() {
		if !w.pods.HasSynced() {
			return // the initial list arrives one pod at a time
		}
		live, ready := 0, 0
		var seen []string
		for _, p := range w.pods.Store().List() {
			if p.GetMetadata().GetDeletionTimestamp() != nil {
				continue
			}
			live++
			state := "unready"
			for _, cond := range p.GetStatus().GetConditions() {
				if cond.GetType() == "Ready" && cond.GetStatus() == "True" {
					ready++
					state = "ready"
				}
			}
			seen = append(seen, p.GetMetadata().GetName()+"="+state)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.states++
		if live > maxPods {
			w.violations = append(w.violations, fmt.Sprintf("%d live pods > %d", live, maxPods))
		}
		if ready < minReady {
			w.violations = append(w.violations, fmt.Sprintf("%d ready pods < %d: %v", ready, minReady, seen))
		}
	}
	w.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd: func(*corev1.Pod) { check() }, OnUpdate: func(_, _ *corev1.Pod) { check() }, OnDelete: func(*corev1.Pod) { check() }})
	go func() { _ = w.pods.Start(ctx) }()
	w.pods.WaitForSync(ctx)
	check()
	return w
}

func (w *rolloutWatch) result() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.states, append([]string(nil), w.violations...)
}

func (c *cluster) images() map[string]int {
	c.t.Helper()
	list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range list.GetItems() {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			out[p.GetSpec().GetContainers()[0].GetImage()]++
		}
	}
	return out
}

func TestDeploymentRollsOutWithKubectl(t *testing.T) {
	c := startCluster(t)
	c.kubectl(webDeployment, "apply", "-f", "-")
	out := c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	if !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status: %s", out)
	}
	if got := c.images(); got["registry.local/web:v1"] != 4 || len(got) != 1 {
		t.Fatalf("pods after the first rollout: %v", got)
	}
	rs := c.kubectl("", "get", "rs", "-l", "app=web", "-o", "name")
	if strings.Count(strings.TrimSpace(rs), "\n") != 0 {
		t.Fatalf("one replica set expected: %s", rs)
	}

	// An image change rolls within maxSurge and maxUnavailable.
	ctx, cancel := context.WithCancel(c.ctx)
	w := watchRollout(ctx, c.c, 4+1, 4-1)
	c.kubectl("", "set", "image", "deployment/web", "web=registry.local/web:v2")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	framework.Eventually(t, 30*time.Second, "all pods run v2", func() error {
		if got := c.images(); got["registry.local/web:v2"] != 4 || len(got) != 1 {
			return fmt.Errorf("images %v", got)
		}
		return nil
	})
	cancel()
	states, violations := w.result()
	if len(violations) > 0 {
		t.Fatalf("the rolling update broke its bounds in %d of %d observed states: %v", len(violations), states, violations)
	}
	if states < 8 {
		t.Fatalf("only %d states observed during the rollout", states)
	}

	// History and undo.
	history := c.kubectl("", "rollout", "history", "deployment/web")
	if !strings.Contains(history, "1 ") || !strings.Contains(history, "2 ") {
		t.Fatalf("rollout history: %s", history)
	}
	c.kubectl("", "rollout", "undo", "deployment/web")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	framework.Eventually(t, 30*time.Second, "all pods run v1 again", func() error {
		if got := c.images(); got["registry.local/web:v1"] != 4 || len(got) != 1 {
			return fmt.Errorf("images %v", got)
		}
		return nil
	})
	if got := c.kubectl("", "get", "deployment", "web", "-o", "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"); got != "3" {
		t.Fatalf("revision after undo: %q, want 3", got)
	}

	// Scale both ways.
	for _, n := range []int{7, 2} {
		c.kubectl("", "scale", "deployment/web", fmt.Sprintf("--replicas=%d", n))
		c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
		framework.Eventually(t, 30*time.Second, fmt.Sprintf("%d pods", n), func() error {
			if got := c.images()["registry.local/web:v1"]; got != n {
				return fmt.Errorf("%d pods", got)
			}
			return nil
		})
	}
}

// TestUndoFindsTheOldReplicaSet: kubectl's typed create sends protobuf,
// in which every non-pointer field is written, zero or not, while `rollout
// undo` patches the template back as JSON without them; the controller
// still recognizes the old ReplicaSet and scales it up again instead of
// making a third one, so history reads 2, 3 as in Kubernetes.
func TestUndoFindsTheOldReplicaSet(t *testing.T) {
	c := startCluster(t)
	c.kubectl("", "create", "deployment", "api", "--image=registry.local/web:v1", "--replicas=1")
	c.kubectl("", "rollout", "status", "deployment/api", "--timeout=90s")
	c.kubectl("", "set", "image", "deployment/api", "web=registry.local/web:v2")
	c.kubectl("", "rollout", "status", "deployment/api", "--timeout=90s")
	c.kubectl("", "rollout", "undo", "deployment/api")
	c.kubectl("", "rollout", "status", "deployment/api", "--timeout=90s")
	if rs := strings.Fields(c.kubectl("", "get", "rs", "-l", "app=api", "-o", "name")); len(rs) != 2 {
		t.Fatalf("replica sets after undo: %v, want the two of revisions 1 and 2", rs)
	}
	history := c.kubectl("", "rollout", "history", "deployment/api")
	var revisions []string
	for _, line := range strings.Split(history, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] != "REVISION" && !strings.HasPrefix(f[0], "deployment") {
			revisions = append(revisions, f[0])
		}
	}
	if strings.Join(revisions, ",") != "2,3" {
		t.Fatalf("rollout history after undo lists %v, want 2,3:\n%s", revisions, history)
	}
}

func TestRecreateAndPause(t *testing.T) {
	c := startCluster(t)
	recreate := strings.Replace(webDeployment, "type: RollingUpdate\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}", "type: Recreate", 1)
	c.kubectl(recreate, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")

	// Recreate never runs old and new pods together.
	ctx, cancel := context.WithCancel(c.ctx)
	mixed := false
	w := watchRollout(ctx, c.c, 4, 0)
	w.pods.AddHandler(informer.Handler[*corev1.Pod]{OnAdd: func(*corev1.Pod) {
		images := map[string]bool{}
		for _, p := range w.pods.Store().List() {
			if p.GetMetadata().GetDeletionTimestamp() == nil {
				images[p.GetSpec().GetContainers()[0].GetImage()] = true
			}
		}
		w.mu.Lock()
		mixed = mixed || len(images) > 1
		w.mu.Unlock()
	}})
	c.kubectl("", "set", "image", "deployment/web", "web=registry.local/web:v2")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	cancel()
	if _, violations := w.result(); len(violations) > 0 {
		t.Fatalf("more than 4 pods during a Recreate: %v", violations)
	}
	w.mu.Lock()
	if mixed {
		t.Error("old and new pods ran together during a Recreate rollout")
	}
	w.mu.Unlock()

	// A paused deployment does not roll; resumed, it does.
	c.kubectl("", "rollout", "pause", "deployment/web")
	c.kubectl("", "set", "image", "deployment/web", "web=registry.local/web:v3")
	framework.Eventually(t, 30*time.Second, "the pause is observed", func() error {
		out := c.kubectl("", "get", "deployment", "web", "-o", "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}")
		if out != "DeploymentPaused" {
			return fmt.Errorf("progressing reason %q", out)
		}
		return nil
	})
	if got := c.images(); got["registry.local/web:v3"] != 0 {
		t.Fatalf("a paused deployment rolled: %v", got)
	}
	c.kubectl("", "rollout", "resume", "deployment/web")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	framework.Eventually(t, 30*time.Second, "all pods run v3", func() error {
		if got := c.images(); got["registry.local/web:v3"] != 4 || len(got) != 1 {
			return fmt.Errorf("images %v", got)
		}
		return nil
	})
}
