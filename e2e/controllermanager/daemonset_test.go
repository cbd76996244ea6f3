package controllermanager

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

const agentDaemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: default
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: registry.local/agent:v1
`

// agentPods are the live agent pods by the node they are bound to.
func (c *cluster) agentPods() map[string][]*corev1.Pod {
	c.t.Helper()
	list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "app=agent"})
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string][]*corev1.Pod{}
	for _, p := range list.GetItems() {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			out[p.GetSpec().GetNodeName()] = append(out[p.GetSpec().GetNodeName()], p)
		}
	}
	return out
}

// onePerNode waits until exactly the nodes named run one Running agent
// pod each, with the image given.
func (c *cluster) onePerNode(image string, nodes ...string) map[string]*corev1.Pod {
	c.t.Helper()
	var got map[string]*corev1.Pod
	framework.Eventually(c.t, 60*time.Second, fmt.Sprintf("one %s agent pod running on each of %v", image, nodes), func() error {
		byNode := c.agentPods()
		got = map[string]*corev1.Pod{}
		var where []string
		for n, pods := range byNode {
			for _, p := range pods {
				where = append(where, fmt.Sprintf("%s:%s:%s", n, p.GetSpec().GetContainers()[0].GetImage(), p.GetStatus().GetPhase()))
			}
			if len(pods) == 1 && n != "" && pods[0].GetStatus().GetPhase() == "Running" && pods[0].GetSpec().GetContainers()[0].GetImage() == image {
				got[n] = pods[0]
			}
		}
		sort.Strings(where)
		if len(got) != len(nodes) || len(byNode) != len(nodes) {
			return fmt.Errorf("pods %v", where)
		}
		for _, n := range nodes {
			if got[n] == nil {
				return fmt.Errorf("pods %v", where)
			}
		}
		return nil
	})
	return got
}

// status waits for the DaemonSet's status to report want nodes in every
// count, for its current generation.
func (c *cluster) dsStatus(want int32) {
	c.t.Helper()
	framework.Eventually(c.t, 30*time.Second, fmt.Sprintf("daemonset status counts %d nodes", want), func() error {
		ds, err := c.c.AppsV1().DaemonSets("default").Get(c.ctx, "agent")
		if err != nil {
			return err
		}
		st := ds.GetStatus()
		if st.GetObservedGeneration() != ds.GetMetadata().GetGeneration() || st.GetDesiredNumberScheduled() != want ||
			st.GetCurrentNumberScheduled() != want || st.GetNumberReady() != want || st.GetUpdatedNumberScheduled() != want ||
			st.GetNumberAvailable() != want || st.GetNumberUnavailable() != 0 || st.GetNumberMisscheduled() != 0 {
			return fmt.Errorf("status %v, generation %d", st, ds.GetMetadata().GetGeneration())
		}
		return nil
	})
}

func (c *cluster) taint(node, key, value, effect string) {
	c.t.Helper()
	n, err := c.c.CoreV1().Nodes().Get(c.ctx, node)
	if err != nil {
		c.t.Fatal(err)
	}
	n.Spec.Taints = append(n.Spec.Taints, &corev1.Taint{Key: key, Value: value, Effect: effect})
	if _, err := c.c.CoreV1().Nodes().Update(c.ctx, n, client.WriteOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// TestDaemonSetFollowsNodes: one pod per node, placed by the scheduler
// through node affinity; a tainted node is skipped until the template
// tolerates its taint; a node that joins gets its pod; the status counts
// them.
func TestDaemonSetFollowsNodes(t *testing.T) {
	c := startCluster(t)
	framework.StartStandInKubelet(t, c.c, "node-c", "node-t")
	c.taint("node-t", "dedicated", "infra", "NoSchedule")
	c.kubectl(agentDaemonSet, "apply", "-f", "-")
	pods := c.onePerNode("registry.local/agent:v1", "node-a", "node-b", "node-c")
	c.dsStatus(3)

	p := pods["node-a"]
	terms := p.GetSpec().GetAffinity().GetNodeAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution().GetNodeSelectorTerms()
	if len(terms) != 1 || len(terms[0].GetMatchFields()) != 1 || terms[0].GetMatchFields()[0].GetKey() != "metadata.name" ||
		!slices.Equal(terms[0].GetMatchFields()[0].GetValues(), []string{"node-a"}) {
		t.Fatalf("pod on node-a has node affinity %v, want matchFields metadata.name In [node-a]", terms)
	}
	var tolerated []string
	for _, tol := range p.GetSpec().GetTolerations() {
		tolerated = append(tolerated, tol.GetKey()+":"+tol.GetEffect())
	}
	for _, want := range []string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute",
		"node.kubernetes.io/disk-pressure:NoSchedule", "node.kubernetes.io/memory-pressure:NoSchedule",
		"node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"} {
		if !slices.Contains(tolerated, want) {
			t.Errorf("daemon pod tolerations %v lack %s", tolerated, want)
		}
	}
	l := p.GetMetadata().GetLabels()
	if l["controller-revision-hash"] == "" || l["pod-template-generation"] != "1" {
		t.Errorf("daemon pod labels %v, want controller-revision-hash and pod-template-generation=1", l)
	}

	// Tolerating the taint puts a pod on node-t too (and rolls the others).
	c.kubectl(`{"spec":{"template":{"spec":{"tolerations":[{"key":"dedicated","operator":"Equal","value":"infra","effect":"NoSchedule"}]}}}}`,
		"patch", "daemonset", "agent", "--type=merge", "--patch-file=/dev/stdin")
	pods = c.onePerNode("registry.local/agent:v1", "node-a", "node-b", "node-c", "node-t")
	if got := pods["node-t"].GetMetadata().GetLabels()["pod-template-generation"]; got != "2" {
		t.Errorf("pod on node-t has pod-template-generation %q, want 2", got)
	}
	c.dsStatus(4)

	// A node that joins gets its pod.
	framework.StartStandInKubelet(t, c.c, "node-new")
	c.onePerNode("registry.local/agent:v1", "node-a", "node-b", "node-c", "node-t", "node-new")
	c.dsStatus(5)

	events := c.kubectl("", "get", "events", "--field-selector", "involvedObject.kind=DaemonSet,involvedObject.name=agent", "-o", "jsonpath={.items[*].reason}")
	if !strings.Contains(events, "SuccessfulCreate") || !strings.Contains(events, "SuccessfulDelete") {
		t.Errorf("daemonset events %q, want SuccessfulCreate and SuccessfulDelete", events)
	}
}

// daemonWatch checks every state of the agent pods it observes during a
// rolling update with maxUnavailable 1 and no surge: at most one pod per
// node, and no more than one node without a ready pod.
type daemonWatch struct {
	mu         sync.Mutex
	violations []string
	states     int
	pods       *informer.Informer[*corev1.Pod]
}

func watchDaemonRollout(ctx context.Context, c *client.Client, nodes []string, maxUnavailable int) *daemonWatch {
	w := &daemonWatch{}
	w.pods = informer.New(informer.FromResource(c.CoreV1().Pods("default").Resource),
		informer.Options[*corev1.Pod]{LabelSelector: "app=agent"})
	check := func() {
		if !w.pods.HasSynced() {
			return
		}
		live := map[string]int{}
		ready := map[string]bool{}
		for _, p := range w.pods.Store().List() {
			if p.GetMetadata().GetDeletionTimestamp() != nil {
				continue
			}
			n := p.GetSpec().GetNodeName()
			if n == "" {
				n = "pending:" + p.GetMetadata().GetName()
			}
			live[n]++
			for _, cond := range p.GetStatus().GetConditions() {
				if cond.GetType() == "Ready" && cond.GetStatus() == "True" {
					ready[n] = true
				}
			}
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.states++
		unavailable := 0
		for _, n := range nodes {
			if !ready[n] {
				unavailable++
			}
		}
		if unavailable > maxUnavailable {
			w.violations = append(w.violations, fmt.Sprintf("%d nodes without a ready pod > %d: %v", unavailable, maxUnavailable, ready))
		}
		for n, k := range live {
			if k > 1 {
				w.violations = append(w.violations, fmt.Sprintf("%d live pods on %s", k, n))
			}
		}
	}
	w.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd: func(*corev1.Pod) { check() }, OnUpdate: func(_, _ *corev1.Pod) { check() }, OnDelete: func(*corev1.Pod) { check() }})
	go func() { _ = w.pods.Start(ctx) }()
	w.pods.WaitForSync(ctx)
	check()
	return w
}

func (w *daemonWatch) result() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.states, append([]string(nil), w.violations...)
}

// TestDaemonSetRollsOutWithKubectl: a new image rolls out one node at a
// time (maxUnavailable 1), checked at every pod event; kubectl rollout
// status, history, undo and restart work on it, and get and describe show
// its columns.
func TestDaemonSetRollsOutWithKubectl(t *testing.T) {
	c := startCluster(t)
	framework.StartStandInKubelet(t, c.c, "node-c")
	nodes := []string{"node-a", "node-b", "node-c"}
	c.kubectl(agentDaemonSet, "apply", "-f", "-")
	if out := c.kubectl("", "rollout", "status", "daemonset/agent", "--timeout=90s"); !strings.Contains(out, `daemon set "agent" successfully rolled out`) {
		t.Fatalf("rollout status: %s", out)
	}
	c.onePerNode("registry.local/agent:v1", nodes...)

	ctx, cancel := context.WithCancel(c.ctx)
	w := watchDaemonRollout(ctx, c.c, nodes, 1)
	c.kubectl("", "set", "image", "daemonset/agent", "agent=registry.local/agent:v2")
	c.kubectl("", "rollout", "status", "daemonset/agent", "--timeout=90s")
	c.onePerNode("registry.local/agent:v2", nodes...)
	cancel()
	states, violations := w.result()
	if len(violations) > 0 {
		t.Fatalf("the rolling update broke maxUnavailable in %d of %d observed states: %v", len(violations), states, violations)
	}
	if states < 9 {
		t.Fatalf("only %d states observed during the rollout", states)
	}
	t.Logf("%d pod states observed during the rollout, none with more than one node unavailable", states)

	history := c.kubectl("", "rollout", "history", "daemonset/agent")
	if !strings.Contains(history, "REVISION") || !strings.Contains(history, "1 ") || !strings.Contains(history, "2 ") {
		t.Fatalf("rollout history: %s", history)
	}
	t.Logf("kubectl rollout history daemonset/agent:\n%s", history)
	if rev := c.kubectl("", "rollout", "history", "daemonset/agent", "--revision=2"); !strings.Contains(rev, "registry.local/agent:v2") {
		t.Fatalf("rollout history --revision=2 does not show the v2 template:\n%s", rev)
	}
	c.kubectl("", "rollout", "undo", "daemonset/agent")
	c.kubectl("", "rollout", "status", "daemonset/agent", "--timeout=90s")
	c.onePerNode("registry.local/agent:v1", nodes...)
	if got := c.kubectl("", "get", "controllerrevisions", "-l", "app=agent", "-o", "jsonpath={.items[*].revision}"); !strings.Contains(got, "3") {
		t.Fatalf("revisions after undo: %q, want the v1 revision renumbered 3", got)
	}

	before := c.agentPods()
	c.kubectl("", "rollout", "restart", "daemonset/agent")
	c.kubectl("", "rollout", "status", "daemonset/agent", "--timeout=90s")
	framework.Eventually(t, 60*time.Second, "every agent pod replaced by the restart", func() error {
		after := c.onePerNode("registry.local/agent:v1", nodes...)
		for _, n := range nodes {
			if before[n][0].GetMetadata().GetUid() == after[n].GetMetadata().GetUid() {
				return fmt.Errorf("pod on %s not replaced", n)
			}
		}
		return nil
	})

	get := c.kubectl("", "get", "ds", "agent")
	if !strings.Contains(get, "NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE") ||
		!strings.Contains(get, "agent   3         3         3       3            3           <none>") {
		t.Fatalf("kubectl get ds:\n%s", get)
	}
	wide := c.kubectl("", "get", "ds", "agent", "-o", "wide")
	if !strings.Contains(wide, "CONTAINERS   IMAGES                    SELECTOR") || !strings.Contains(wide, "agent        registry.local/agent:v1   app=agent") {
		t.Fatalf("kubectl get ds -o wide:\n%s", wide)
	}
	t.Logf("kubectl get ds -o wide:\n%s", wide)
	if all := c.kubectl("", "get", "all"); !strings.Contains(all, "daemonset.apps/agent") {
		t.Fatalf("kubectl get all lacks the DaemonSet:\n%s", all)
	}
	describe := c.kubectl("", "describe", "ds", "agent")
	for _, want := range []string{"Selector:       app=agent", "Desired Number of Nodes Scheduled: 3", "Current Number of Nodes Scheduled: 3",
		"Number of Nodes Scheduled with Up-to-date Pods: 3", "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed", "SuccessfulCreate"} {
		if !strings.Contains(describe, want) {
			t.Errorf("kubectl describe ds lacks %q:\n%s", want, describe)
		}
	}
}

// TestDaemonSetReplacesFailedPods: a daemon pod that fails is deleted and
// replaced, with a FailedDaemonPod event. Its node has no kubelet, so its
// pods keep the phase the test gives them.
func TestDaemonSetReplacesFailedPods(t *testing.T) {
	c := startCluster(t, "--controllers=daemonset,garbagecollector,serviceaccount")
	q := func(s string) *metav1.Quantity { return &metav1.Quantity{String_: s} }
	res := map[string]*metav1.Quantity{"cpu": q("4"), "memory": q("16Gi"), "pods": q("110")}
	node, err := c.c.CoreV1().Nodes().Create(c.ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-x"}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status = &corev1.NodeStatus{Capacity: res, Allocatable: res,
		Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady", LastHeartbeatTime: timestamppb.Now()}}}
	if _, err := c.c.CoreV1().Nodes().UpdateStatus(c.ctx, node, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.kubectl(agentDaemonSet, "apply", "-f", "-")
	var first *corev1.Pod
	framework.Eventually(t, 60*time.Second, "a pod bound to node-x", func() error {
		if pods := c.agentPods()["node-x"]; len(pods) == 1 {
			first = pods[0]
			return nil
		}
		return fmt.Errorf("no pod on node-x")
	})
	failed := proto.Clone(first).(*corev1.Pod)
	failed.Status.Phase = "Failed"
	if _, err := c.c.CoreV1().Pods("default").UpdateStatus(c.ctx, failed, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the failed pod is replaced", func() error {
		now := c.agentPods()["node-x"]
		if len(now) != 1 || now[0].GetMetadata().GetUid() == failed.GetMetadata().GetUid() {
			return fmt.Errorf("%d pods on node-x", len(now))
		}
		return nil
	})
	framework.Eventually(t, 30*time.Second, "a FailedDaemonPod event", func() error {
		events := c.kubectl("", "get", "events", "--field-selector", "involvedObject.kind=DaemonSet,reason=FailedDaemonPod", "-o", "jsonpath={.items[*].message}")
		if !strings.Contains(events, "Found failed daemon pod default/"+failed.GetMetadata().GetName()+" on node node-x, will try to kill it") {
			return fmt.Errorf("FailedDaemonPod events: %q", events)
		}
		return nil
	})
}

// surgeWatch checks every state of the agent pods during a rolling
// update with maxSurge 1 and maxUnavailable 0: every node keeps a ready
// pod, and at most one node has two.
func watchSurge(ctx context.Context, c *client.Client, nodes []string) *daemonWatch {
	w := &daemonWatch{}
	w.pods = informer.New(informer.FromResource(c.CoreV1().Pods("default").Resource),
		informer.Options[*corev1.Pod]{LabelSelector: "app=agent"})
	check := func() {
		if !w.pods.HasSynced() {
			return
		}
		live := map[string]int{}
		ready := map[string]bool{}
		for _, p := range w.pods.Store().List() {
			if p.GetMetadata().GetDeletionTimestamp() != nil {
				continue
			}
			n := p.GetSpec().GetNodeName()
			live[n]++
			for _, cond := range p.GetStatus().GetConditions() {
				if cond.GetType() == "Ready" && cond.GetStatus() == "True" {
					ready[n] = true
				}
			}
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.states++
		doubled := 0
		for _, n := range nodes {
			if !ready[n] {
				w.violations = append(w.violations, fmt.Sprintf("node %s without a ready pod", n))
			}
			if live[n] > 1 {
				doubled++
			}
		}
		if doubled > 1 {
			w.violations = append(w.violations, fmt.Sprintf("%d nodes with two pods: %v", doubled, live))
		}
	}
	w.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd: func(*corev1.Pod) { check() }, OnUpdate: func(_, _ *corev1.Pod) { check() }, OnDelete: func(*corev1.Pod) { check() }})
	go func() { _ = w.pods.Start(ctx) }()
	w.pods.WaitForSync(ctx)
	check()
	return w
}

// TestDaemonSetSurgeAndOnDelete: with maxSurge 1 and maxUnavailable 0 no
// node is ever without a ready pod; with OnDelete a template change waits
// for the old pods to be deleted.
func TestDaemonSetSurgeAndOnDelete(t *testing.T) {
	c := startCluster(t)
	framework.StartStandInKubelet(t, c.c, "node-c")
	nodes := []string{"node-a", "node-b", "node-c"}
	c.kubectl(strings.Replace(agentDaemonSet, "spec:\n  selector:", "spec:\n  updateStrategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n  selector:", 1), "apply", "-f", "-")
	c.onePerNode("registry.local/agent:v1", nodes...)
	ctx, cancel := context.WithCancel(c.ctx)
	w := watchSurge(ctx, c.c, nodes)
	c.kubectl("", "set", "image", "daemonset/agent", "agent=registry.local/agent:v2")
	c.kubectl("", "rollout", "status", "daemonset/agent", "--timeout=90s")
	c.onePerNode("registry.local/agent:v2", nodes...)
	cancel()
	states, violations := w.result()
	if len(violations) > 0 {
		t.Fatalf("the surge broke its bounds in %d of %d observed states: %v", len(violations), states, violations)
	}
	t.Logf("%d pod states observed during the surge, every node always with a ready pod", states)

	c.kubectl(`{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}`, "patch", "daemonset", "agent", "--type=merge", "--patch-file=/dev/stdin")
	c.kubectl("", "set", "image", "daemonset/agent", "agent=registry.local/agent:v3")
	framework.Eventually(t, 30*time.Second, "the status sees the new template", func() error {
		ds, err := c.c.AppsV1().DaemonSets("default").Get(c.ctx, "agent")
		if err != nil {
			return err
		}
		if ds.GetStatus().GetObservedGeneration() != ds.GetMetadata().GetGeneration() || ds.GetStatus().GetUpdatedNumberScheduled() != 0 {
			return fmt.Errorf("status %v", ds.GetStatus())
		}
		return nil
	})
	pods := c.onePerNode("registry.local/agent:v2", nodes...)
	c.kubectl("", "delete", "pod", pods["node-b"].GetMetadata().GetName())
	framework.Eventually(t, 60*time.Second, "node-b runs v3, the others v2", func() error {
		byNode := c.agentPods()
		for _, n := range nodes {
			want := "registry.local/agent:v2"
			if n == "node-b" {
				want = "registry.local/agent:v3"
			}
			if len(byNode[n]) != 1 || byNode[n][0].GetSpec().GetContainers()[0].GetImage() != want || byNode[n][0].GetStatus().GetPhase() != "Running" {
				return fmt.Errorf("pods on %s: %d", n, len(byNode[n]))
			}
		}
		return nil
	})
}
