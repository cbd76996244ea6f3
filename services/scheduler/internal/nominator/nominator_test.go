package nominator

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func pod(name string) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Uid: name}, Spec: &corev1.PodSpec{}}
}

func TestNominator(t *testing.T) {
	n := New()
	if n.Snapshot() != nil {
		t.Fatal("empty nominator: got a snapshot, want nil")
	}
	a, b := pod("a"), pod("b")
	n.Add(a, "n1")
	n.Add(b, "n1")
	n.Add(a, "n2") // moves
	snap := n.Snapshot()
	if len(snap["n1"]) != 1 || snap["n1"][0].GetMetadata().GetName() != "b" || len(snap["n2"]) != 1 {
		t.Fatalf("snapshot %v, want b on n1 and a on n2", snap)
	}
	if got := snap["n2"][0].GetSpec().GetNodeName(); got != "n2" {
		t.Errorf("nominated pod's nodeName %q, want n2 (as if it ran there)", got)
	}
	if a.GetSpec().GetNodeName() != "" {
		t.Error("Add changed the caller's pod")
	}
	if n.NodeOf(a) != "n2" {
		t.Errorf("NodeOf(a) = %q, want n2", n.NodeOf(a))
	}
	n.Add(b, "") // cleared
	n.Delete(a)
	if n.Snapshot() != nil || n.NodeOf(a) != "" || n.NodeOf(b) != "" {
		t.Fatalf("after clearing: snapshot %v", n.Snapshot())
	}
}
