// Package scheduler tests the scheduler process against a real apiserver:
// pods land where their constraints say, unschedulable pods are reported
// and scheduled once a fitting node appears, and nothing is overcommitted.
package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

type env struct {
	t   *testing.T
	ctx context.Context
	c   *client.Client
}

// setup starts an apiserver and a scheduler with extra flags.
func setup(t *testing.T, flags ...string) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts) // no controller-manager
	framework.StartScheduler(t, srv, append([]string{"--leader-elect=false"}, flags...)...)
	return connect(t, srv)
}

// connect makes a client of srv for the test.
func connect(t *testing.T, srv *framework.APIServer) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, c: srv.Client()}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func q(s string) *metav1.Quantity { return &metav1.Quantity{String_: s} }

func (e *env) node(name, cpu string, labels map[string]string, taints ...*corev1.Taint) {
	e.t.Helper()
	all := map[string]string{"kubernetes.io/hostname": name} // as the kubelet labels its node
	for k, v := range labels {
		all[k] = v
	}
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: all}, Spec: &corev1.NodeSpec{Taints: taints},
		Status: &corev1.NodeStatus{
			Allocatable: map[string]*metav1.Quantity{"cpu": q(cpu), "memory": q("8Gi"), "pods": q("110")},
			Capacity:    map[string]*metav1.Quantity{"cpu": q(cpu), "memory": q("8Gi"), "pods": q("110")},
			Conditions:  []*corev1.NodeCondition{{Type: "Ready", Status: "True"}},
		}}
	created, err := e.c.CoreV1().Nodes().Create(e.ctx, n, client.WriteOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	created.Status = n.Status // status is written through its own subresource
	if _, err := e.c.CoreV1().Nodes().UpdateStatus(e.ctx, created, client.WriteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

type podOpt func(*corev1.Pod)

func cpu(v string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{"cpu": q(v)}}
	}
}

func (e *env) pod(name string, opts ...podOpt) {
	e.t.Helper()
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}
	for _, o := range opts {
		o(p)
	}
	if _, err := e.c.CoreV1().Pods("default").Create(e.ctx, p, client.WriteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// nodeOf waits until the pod is bound and returns its node.
func (e *env) nodeOf(name string) string {
	e.t.Helper()
	var node string
	framework.Eventually(e.t, 60*time.Second, "pod "+name+" is bound", func() error {
		p, err := e.c.CoreV1().Pods("default").Get(e.ctx, name)
		if err != nil {
			return err
		}
		if node = p.GetSpec().GetNodeName(); node == "" {
			return fmt.Errorf("not bound; conditions %v", p.GetStatus().GetConditions())
		}
		return nil
	})
	return node
}

func TestPodsLandWhereTheirConstraintsSay(t *testing.T) {
	e := setup(t)
	e.node("small", "1", map[string]string{"disk": "hdd"})
	e.node("big", "8", map[string]string{"disk": "ssd"})
	e.node("gpu", "8", map[string]string{"disk": "ssd"}, &corev1.Taint{Key: "dedicated", Value: "gpu", Effect: "NoSchedule"})

	e.pod("needs-cpu", cpu("4"))
	e.pod("wants-hdd", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "hdd"} })
	e.pod("tolerates-gpu", func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		p.Spec.Tolerations = []*corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "gpu", Effect: "NoSchedule"}}
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []*corev1.NodeSelectorTerm{{
				MatchFields: []*corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: "In", Values: []string{"gpu"}}},
			}}}}}
	})
	for name, want := range map[string]string{"needs-cpu": "big", "wants-hdd": "small", "tolerates-gpu": "gpu"} {
		if got := e.nodeOf(name); got != want {
			t.Errorf("%s landed on %s, want %s", name, got, want)
		}
	}
}

func TestUnschedulablePodIsReportedThenScheduled(t *testing.T) {
	e := setup(t)
	e.node("n1", "1", nil)
	e.node("n2", "1", nil, &corev1.Taint{Key: "dedicated", Value: "gpu", Effect: "NoSchedule"})
	e.pod("huge", cpu("2"))

	// No pod of lower priority runs anywhere: preemption cannot help, and
	// the message says so as Kubernetes' does.
	want := "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}." +
		" preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
	framework.Eventually(t, 60*time.Second, "the pod is reported unschedulable", func() error {
		p, err := e.c.CoreV1().Pods("default").Get(e.ctx, "huge")
		if err != nil {
			return err
		}
		for _, c := range p.GetStatus().GetConditions() {
			if c.GetType() == "PodScheduled" && c.GetStatus() == "False" && c.GetReason() == "Unschedulable" && c.GetMessage() == want {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", p.GetStatus().GetConditions())
	})
	// Events are written asynchronously, after the condition. An attempt
	// made before the scheduler saw the second node has its own event, with
	// its own message; the one for the attempt above must come too.
	framework.Eventually(t, 30*time.Second, "a FailedScheduling event", func() error {
		events, err := e.c.CoreV1().Events("default").List(e.ctx, client.ListOptions{FieldSelector: "involvedObject.name=huge,reason=FailedScheduling"})
		if err != nil {
			return err
		}
		for _, ev := range events.GetItems() {
			if ev.GetMessage() == want && ev.GetType() == "Warning" {
				return nil
			}
		}
		return fmt.Errorf("FailedScheduling events: %v", events.GetItems())
	})

	e.node("n3", "4", nil)
	if got := e.nodeOf("huge"); got != "n3" {
		t.Fatalf("landed on %s, want the new node n3", got)
	}
}

func TestNoNodeIsOvercommitted(t *testing.T) {
	e := setup(t)
	const nodes, perNode, pods = 10, 40, 500
	for i := 0; i < nodes; i++ {
		e.node(fmt.Sprintf("n%d", i), fmt.Sprint(perNode), nil)
	}
	for i := 0; i < pods; i++ {
		e.pod(fmt.Sprintf("p%d", i), cpu("1"))
	}
	// 400 fit; the other 100 must stay pending.
	framework.Eventually(t, 120*time.Second, "400 pods are bound and 100 reported unschedulable", func() error {
		list, err := e.c.CoreV1().Pods("default").List(e.ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		bound, unschedulable := 0, 0
		perNodeCount := map[string]int{}
		for _, p := range list.GetItems() {
			if n := p.GetSpec().GetNodeName(); n != "" {
				bound++
				perNodeCount[n]++
				continue
			}
			for _, c := range p.GetStatus().GetConditions() {
				if c.GetType() == "PodScheduled" && c.GetReason() == "Unschedulable" && strings.Contains(c.GetMessage(), "Insufficient cpu") {
					unschedulable++
				}
			}
		}
		for n, count := range perNodeCount {
			if count > perNode {
				t.Fatalf("node %s has %d pods of 1 cpu, more than its %d cpus", n, count, perNode)
			}
		}
		if bound != nodes*perNode || unschedulable != pods-nodes*perNode {
			return fmt.Errorf("%d bound, %d unschedulable", bound, unschedulable)
		}
		return nil
	})
}

func TestAffinityAndSpread(t *testing.T) {
	e := setup(t)
	for i, zone := range []string{"a", "a", "b", "b"} {
		e.node(fmt.Sprintf("n%d", i), "8", map[string]string{"topology.kubernetes.io/zone": zone})
	}
	web := map[string]string{"app": "web"}
	spreadOver := func(p *corev1.Pod) {
		p.Metadata.Labels = web
		p.Spec.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
			WhenUnsatisfiable: "DoNotSchedule", LabelSelector: &metav1.LabelSelector{MatchLabels: web}}}
	}
	zones := map[string]int{}
	webNodes := map[string]bool{}
	for i := 0; i < 6; i++ {
		name := fmt.Sprintf("web-%d", i)
		e.pod(name, spreadOver)
		n := e.nodeOf(name)
		webNodes[n] = true
		zones[map[string]string{"n0": "a", "n1": "a", "n2": "b", "n3": "b"}[n]]++
	}
	if zones["a"] != 3 || zones["b"] != 3 {
		t.Fatalf("spread over zones: %v", zones)
	}
	// A cache pod must share a node with a web pod and never a zone with
	// another cache pod.
	cacheOpts := func(p *corev1.Pod) {
		p.Metadata.Labels = map[string]string{"app": "cache"}
		p.Spec.Affinity = &corev1.Affinity{
			PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
				TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: web}}}},
			PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
				TopologyKey: "topology.kubernetes.io/zone", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}}}},
		}
	}
	e.pod("cache-0", cacheOpts)
	e.pod("cache-1", cacheOpts)
	n0, n1 := e.nodeOf("cache-0"), e.nodeOf("cache-1")
	if !webNodes[n0] || !webNodes[n1] {
		t.Fatalf("cache pods on %s and %s, want nodes running web pods %v", n0, n1, webNodes)
	}
	z0, z1 := zoneOf(e, n0), zoneOf(e, n1)
	if z0 == z1 {
		t.Fatalf("both cache pods in zone %s despite anti-affinity", z0)
	}
	e.pod("cache-2", cacheOpts) // both zones have a cache pod: no room
	framework.Eventually(t, 60*time.Second, "the third cache pod is unschedulable", func() error {
		p, err := e.c.CoreV1().Pods("default").Get(e.ctx, "cache-2")
		if err != nil {
			return err
		}
		for _, c := range p.GetStatus().GetConditions() {
			if c.GetType() == "PodScheduled" && c.GetReason() == "Unschedulable" && strings.Contains(c.GetMessage(), "anti-affinity") {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", p.GetStatus().GetConditions())
	})
}

func zoneOf(e *env, node string) string {
	n, err := e.c.CoreV1().Nodes().Get(e.ctx, node)
	if err != nil {
		e.t.Fatal(err)
	}
	return n.GetMetadata().GetLabels()["topology.kubernetes.io/zone"]
}
