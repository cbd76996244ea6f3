package queue

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/clock"
)

func pod(name string, priority int32) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Uid: name},
		Spec: &corev1.PodSpec{Priority: proto.Int32(priority)}}
}

func pop(t *testing.T, q *Queue) *QueuedPod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qp, ok := q.Pop(ctx)
	if !ok {
		t.Fatal("nothing to pop")
	}
	return qp
}

func TestPriorityThenAge(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	q := New(Options{Clock: fake})
	q.Add(pod("low", 0))
	fake.Step(time.Second)
	q.Add(pod("high", 10))
	q.Add(pod("low-later", 0))
	for _, want := range []string{"high", "low", "low-later"} {
		if got := pop(t, q).Pod.GetMetadata().GetName(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}

func TestAFailedPodWaitsBehindItsPeers(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	q := New(Options{Clock: fake, InitialBackoff: time.Second})
	q.Add(pod("first", 0))
	fake.Step(time.Second)
	q.Add(pod("second", 0))
	failed := pop(t, q)
	fake.Step(time.Second)
	q.Unschedulable(failed)
	q.MoveAll() // back to active at once, but stamped when it failed
	q.Add(pod("high", 5))
	for _, want := range []string{"high", "second", "first"} {
		if got := pop(t, q).Pod.GetMetadata().GetName(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}

func TestUnschedulablePodsWaitForAClusterChange(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	q := New(Options{Clock: fake})
	q.Add(pod("p", 0))
	qp := pop(t, q)
	q.Unschedulable(qp)
	if a, _, u := q.Len(); a != 0 || u != 1 {
		t.Fatalf("active %d unschedulable %d", a, u)
	}
	// Its own status changing (the scheduler's condition) does not retry it.
	again := proto.Clone(qp.Pod).(*corev1.Pod)
	again.Status = &corev1.PodStatus{Conditions: []*corev1.PodCondition{{Type: "PodScheduled", Status: "False"}}}
	q.Add(again)
	if a, _, _ := q.Len(); a != 0 {
		t.Fatal("a status change retried the pod")
	}
	q.MoveAll() // a node was added
	if a, _, u := q.Len(); a != 1 || u != 0 {
		t.Fatalf("after a cluster change: active %d unschedulable %d", a, u)
	}
}

func TestAChangeDuringTheCycleIsNotMissed(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	q := New(Options{Clock: fake, InitialBackoff: time.Second})
	q.Add(pod("p", 0))
	qp := pop(t, q)
	q.MoveAll() // a node arrives while the pod is being scheduled
	q.Unschedulable(qp)
	if _, b, u := q.Len(); b != 1 || u != 0 {
		t.Fatalf("backoff %d unschedulable %d: the pod must be retried", b, u)
	}
	fake.Step(time.Second)
	q.mu.Lock()
	q.flushLocked(fake.Now())
	q.mu.Unlock()
	if a, _, _ := q.Len(); a != 1 {
		t.Fatal("the pod did not come back after its back-off")
	}
}

func TestDeletedPodLeavesTheQueue(t *testing.T) {
	q := New(Options{})
	q.Add(pod("a", 0))
	q.Add(pod("b", 0))
	q.Delete(pod("a", 0))
	if got := pop(t, q).Pod.GetMetadata().GetName(); got != "b" {
		t.Fatalf("got %s, want b", got)
	}
}

func TestMoveIfMovesOnlyThePodsItAdmits(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	q := New(Options{Clock: fake})
	q.Add(pod("claims", 0))
	q.Add(pod("plain", 0))
	q.Add(pod("in-flight", 0))
	var flying *QueuedPod
	for range 3 {
		qp := pop(t, q)
		if qp.Pod.GetMetadata().GetName() == "in-flight" {
			flying = qp // still being scheduled when the event comes
			continue
		}
		q.Unschedulable(qp)
	}
	q.MoveIf(func(p *corev1.Pod) bool { return p.GetMetadata().GetName() != "plain" })
	q.Unschedulable(flying) // failed after the event: back-off, not the pool
	if got := pop(t, q).Pod.GetMetadata().GetName(); got != "claims" {
		t.Fatalf("moved %s, want claims", got)
	}
	if a, b, u := q.Len(); a != 0 || b != 1 || u != 1 {
		t.Fatalf("active %d backoff %d unschedulable %d, want 0, 1 (in-flight) and 1 (plain)", a, b, u)
	}
}
