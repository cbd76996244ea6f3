package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	schedulingv1 "skiff.dev/api/scheduling/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestPreemption: on a full hollow node, a pod of a higher PriorityClass
// evicts the pod of a lower one (which gets the DisruptionTarget
// condition and a Preempted event, and is deleted), is nominated to the
// node and binds there; a pod whose class says preemptionPolicy Never
// waits instead.
func TestPreemption(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	e, share := hollowCluster(t, 1)
	const node = "hollow-0"

	sys, err := e.c.SchedulingV1().PriorityClasses().Get(e.ctx, "system-node-critical")
	if err != nil || sys.GetValue() != 2000001000 {
		t.Fatalf("the system class system-node-critical: %v, value %d; want it with 2000001000", err, sys.GetValue())
	}
	e.priorityClass("low", 10, "")
	e.priorityClass("high", 1000, "")
	e.priorityClass("polite", 5000, "Never")

	e.pod("victim", cpu(share), class("low"))
	if got := e.nodeOf("victim"); got != node {
		t.Fatalf("victim landed on %s, want %s", got, node)
	}
	victim, err := e.c.CoreV1().Pods("default").Get(e.ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	if victim.GetSpec().Priority == nil || victim.GetSpec().GetPriority() != 10 || victim.GetSpec().GetPreemptionPolicy() != "PreemptLowerPriority" {
		t.Fatalf("victim's priority %v, policy %q; want 10 from its class, PreemptLowerPriority", victim.GetSpec().Priority, victim.GetSpec().GetPreemptionPolicy())
	}

	// preemptionPolicy Never: the pod waits, and nothing is evicted.
	e.pod("polite", cpu(share), class("polite"))
	framework.Eventually(t, 60*time.Second, "the Never pod is unschedulable without preempting", func() error {
		p, err := e.c.CoreV1().Pods("default").Get(e.ctx, "polite")
		if err != nil {
			return err
		}
		if m := scheduledMessage(p); !strings.HasSuffix(m, "preemption: not eligible due to preemptionPolicy=Never.") {
			return fmt.Errorf("PodScheduled message %q", m)
		}
		return nil
	})
	v, err := e.c.CoreV1().Pods("default").Get(e.ctx, "victim")
	if err != nil || v.GetMetadata().GetDeletionTimestamp() != nil {
		t.Fatalf("the victim after the Never pod: %v, deletionTimestamp %v; want it untouched", err, v.GetMetadata().GetDeletionTimestamp())
	}
	p, _ := e.c.CoreV1().Pods("default").Get(e.ctx, "polite")
	if nn := p.GetStatus().GetNominatedNodeName(); nn != "" {
		t.Fatalf("the Never pod was nominated to %s", nn)
	}
	// It would take the freed room before the preemptor (its priority is
	// higher): it leaves.
	if _, err := e.c.CoreV1().Pods("default").Delete(e.ctx, "polite", &metav1.DeleteOptions{GracePeriodSeconds: proto.Int64(0)}); err != nil {
		t.Fatal(err)
	}

	// Watch the victim from here so its last states are seen.
	w, err := e.c.CoreV1().Pods("default").Watch(e.ctx, client.ListOptions{FieldSelector: "metadata.name=victim",
		ResourceVersion: v.GetMetadata().GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	e.pod("preemptor", cpu(share), class("high"))

	var marked, deleted bool
	deadline := time.After(90 * time.Second)
	for !deleted {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch of the victim ended")
			}
			if ev.Type == "DELETED" {
				deleted = true
			}
			for _, c := range ev.Object.GetStatus().GetConditions() {
				if c.GetType() == "DisruptionTarget" && c.GetStatus() == "True" && c.GetReason() == "PreemptionByScheduler" &&
					c.GetMessage() == "default-scheduler: preempting to accommodate a higher priority pod" {
					marked = true
				}
			}
		case <-deadline:
			t.Fatal("the victim was not deleted within 90s")
		}
	}
	if !marked {
		t.Error("the victim was deleted without the DisruptionTarget condition (reason PreemptionByScheduler)")
	}
	preemptor, err := e.c.CoreV1().Pods("default").Get(e.ctx, "preemptor")
	if err != nil {
		t.Fatal(err)
	}
	if nn := preemptor.GetStatus().GetNominatedNodeName(); nn != node {
		t.Errorf("preemptor's nominatedNodeName %q, want %s", nn, node)
	}
	if got := e.nodeOf("preemptor"); got != node {
		t.Errorf("preemptor bound to %s, want %s", got, node)
	}
	framework.Eventually(t, 10*time.Second, "a Preempted event on the victim", func() error {
		events, err := e.c.CoreV1().Events("default").List(e.ctx, client.ListOptions{FieldSelector: "involvedObject.name=victim,reason=Preempted"})
		if err != nil {
			return err
		}
		want := fmt.Sprintf("Preempted by pod %s on node %s", preemptor.GetMetadata().GetUid(), node)
		if len(events.GetItems()) == 0 || events.GetItems()[0].GetMessage() != want {
			return fmt.Errorf("Preempted events %v, want one saying %q", events.GetItems(), want)
		}
		return nil
	})
}

// TestPreemptionRespectsDisruptionBudgets: of two nodes where evicting
// one pod makes room, the preemptor takes the one whose victim no
// PodDisruptionBudget protects, though the other's victim has the lower
// priority (which would decide without the budget).
func TestPreemptionRespectsDisruptionBudgets(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	e, share := hollowCluster(t, 2)
	e.priorityClass("lowest", 5, "")
	e.priorityClass("low", 10, "")
	e.priorityClass("high", 1000, "")
	// No disruption controller runs: the budget's status allows no
	// disruption.
	pdb := &policyv1.PodDisruptionBudget{Metadata: &metav1.ObjectMeta{Name: "guard", Namespace: "default"},
		Spec: &policyv1.PodDisruptionBudgetSpec{MinAvailable: &metav1.IntOrString{IntVal: 1},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}}}
	if _, err := e.c.PolicyV1().PodDisruptionBudgets("default").Create(e.ctx, pdb, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	on := func(node string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = proto.String(node) } }
	e.pod("guarded", cpu(share), class("lowest"), on("hollow-0"), func(p *corev1.Pod) { p.Metadata.Labels = map[string]string{"app": "guarded"} })
	e.pod("free", cpu(share), class("low"), on("hollow-1"))
	for _, name := range []string{"guarded", "free"} {
		framework.Eventually(t, 60*time.Second, name+" is Running", func() error {
			p, err := e.c.CoreV1().Pods("default").Get(e.ctx, name)
			if err != nil {
				return err
			}
			if p.GetStatus().GetPhase() != "Running" {
				return fmt.Errorf("phase %q", p.GetStatus().GetPhase())
			}
			return nil
		})
	}

	e.pod("preemptor", cpu(share), class("high"))
	if got := e.nodeOf("preemptor"); got != "hollow-1" {
		t.Fatalf("preemptor bound to %s, want hollow-1, where no budget protects the victim", got)
	}
	if _, err := e.c.CoreV1().Pods("default").Get(e.ctx, "free"); !client.IsNotFound(err) {
		t.Errorf("the unprotected victim: %v, want it deleted", err)
	}
	g, err := e.c.CoreV1().Pods("default").Get(e.ctx, "guarded")
	if err != nil || g.GetMetadata().GetDeletionTimestamp() != nil {
		t.Errorf("the protected pod: %v, deletionTimestamp %v; want it untouched", err, g.GetMetadata().GetDeletionTimestamp())
	}
}

// hollowCluster starts an apiserver, the scheduler and n hollow nodes,
// waits for them to be Ready, and returns 60% of a node's cpu: two pods
// of that size never fit on one node.
func hollowCluster(t *testing.T, n int) (*env, string) {
	t.Helper()
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts)
	framework.StartScheduler(t, srv, "--leader-elect=false")
	framework.StartHollowKubelets(t, srv, n)
	e := connect(t, srv)
	var share string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("hollow-%d", i)
		framework.Eventually(t, 60*time.Second, name+" is Ready", func() error {
			node, err := e.c.CoreV1().Nodes().Get(e.ctx, name)
			if err != nil {
				return err
			}
			ready := false
			for _, c := range node.GetStatus().GetConditions() {
				ready = ready || c.GetType() == "Ready" && c.GetStatus() == "True"
			}
			if !ready {
				return fmt.Errorf("conditions %v", node.GetStatus().GetConditions())
			}
			share = fmt.Sprintf("%dm", milliCPU(t, node.GetStatus().GetAllocatable()["cpu"].GetString_())*6/10)
			return nil
		})
	}
	return e, share
}

func (e *env) priorityClass(name string, value int32, policy string) {
	e.t.Helper()
	pc := &schedulingv1.PriorityClass{Metadata: &metav1.ObjectMeta{Name: name}, Value: value}
	if policy != "" {
		pc.PreemptionPolicy = proto.String(policy)
	}
	if _, err := e.c.SchedulingV1().PriorityClasses().Create(e.ctx, pc, client.WriteOptions{}); err != nil {
		e.t.Fatalf("create PriorityClass %s: %v", name, err)
	}
}

func class(name string) podOpt {
	return func(p *corev1.Pod) { p.Spec.PriorityClassName = proto.String(name) }
}

// scheduledMessage is the message of the pod's PodScheduled=False
// condition.
func scheduledMessage(p *corev1.Pod) string {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "PodScheduled" && c.GetStatus() == "False" {
			return c.GetMessage()
		}
	}
	return ""
}

func milliCPU(t *testing.T, q string) int64 {
	t.Helper()
	var whole, milli int64
	if strings.HasSuffix(q, "m") {
		if _, err := fmt.Sscanf(q, "%dm", &milli); err != nil {
			t.Fatalf("cpu %q: %v", q, err)
		}
		return milli
	}
	if _, err := fmt.Sscanf(q, "%d", &whole); err != nil {
		t.Fatalf("cpu %q: %v", q, err)
	}
	return whole * 1000
}
