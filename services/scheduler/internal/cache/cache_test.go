package cache

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/clock"
)

func node(name string) *corev1.Node {
	return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name},
		Status: &corev1.NodeStatus{Allocatable: map[string]*metav1.Quantity{"cpu": {String_: "4"}}}}
}

func pod(name, nodeName string) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Uid: name},
		Spec: &corev1.PodSpec{NodeName: proto.String(nodeName), Containers: []*corev1.Container{{Name: "c",
			Resources: &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{"cpu": {String_: "1"}}}}}}}
}

func requested(c *Cache, nodeName string) int64 {
	for _, n := range c.Snapshot() {
		if n.Name() == nodeName {
			return n.Requested.MilliCPU
		}
	}
	return -1
}

func TestAssumedPodsCountUntilConfirmedOrExpired(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	c := New(fake, 30*time.Second)
	c.SetNode(node("n"))
	a := pod("a", "n")
	c.Assume(a)
	if got := requested(c, "n"); got != 1000 {
		t.Fatalf("after assume: %dm requested", got)
	}
	c.FinishBinding(a)
	c.SetPod(a) // the informer confirms the binding
	fake.Step(time.Minute)
	if got := requested(c, "n"); got != 1000 || c.IsAssumed(a) {
		t.Fatalf("confirmed pod: %dm requested, assumed %v", got, c.IsAssumed(a))
	}

	lost := pod("lost", "n")
	c.Assume(lost)
	c.FinishBinding(lost)
	fake.Step(31 * time.Second) // never confirmed: the binding was lost
	if got := requested(c, "n"); got != 1000 {
		t.Fatalf("expired assumption still counted: %dm", got)
	}

	failed := pod("failed", "n")
	c.Assume(failed)
	c.Forget(failed)
	if got := requested(c, "n"); got != 1000 {
		t.Fatalf("forgotten assumption still counted: %dm", got)
	}
}

func TestPodsSeenBeforeTheirNodeAreKept(t *testing.T) {
	c := New(nil, time.Minute)
	c.SetPod(pod("early", "later"))
	c.SetNode(node("later"))
	if got := requested(c, "later"); got != 1000 {
		t.Fatalf("got %dm, want the early pod counted", got)
	}
	c.RemovePod(pod("early", "later"))
	if got := requested(c, "later"); got != 0 {
		t.Fatalf("removed pod still counted: %dm", got)
	}
}
