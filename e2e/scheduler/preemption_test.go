package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
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
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts)
	framework.StartScheduler(t, srv, "--leader-elect=false")
	framework.StartHollowKubelets(t, srv, 1)
	e := connect(t, srv)
	const node = "hollow-0"
	var share string // 60% of the node's cpu: two such pods never fit together
	framework.Eventually(t, 60*time.Second, "the hollow node is Ready", func() error {
		n, err := e.c.CoreV1().Nodes().Get(e.ctx, node)
		if err != nil {
			return err
		}
		ready := false
		for _, c := range n.GetStatus().GetConditions() {
			ready = ready || c.GetType() == "Ready" && c.GetStatus() == "True"
		}
		if !ready {
			return fmt.Errorf("conditions %v", n.GetStatus().GetConditions())
		}
		share = fmt.Sprintf("%dm", milliCPU(t, n.GetStatus().GetAllocatable()["cpu"].GetString_())*6/10)
		return nil
	})

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
