package informer

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func pod(ns, name, node, owner string) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: &corev1.PodSpec{NodeName: &node}}
	if owner != "" {
		yes := true
		p.Metadata.OwnerReferences = []*metav1.OwnerReference{{Uid: owner, Controller: &yes}}
	}
	return p
}

func names(pods []*corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = KeyOf(p)
	}
	return out
}

func TestStoreIndexes(t *testing.T) {
	s := newStore(map[string]IndexFunc[*corev1.Pod]{
		IndexNamespace: NamespaceIndex[*corev1.Pod],
		IndexOwner:     OwnerIndex[*corev1.Pod],
		IndexNodeName:  NodeNameIndex,
		IndexOwners:    OwnersIndex[*corev1.Pod],
	})
	s.set(pod("a", "p1", "n1", "rs1"))
	s.set(pod("a", "p2", "", "rs1"))
	s.set(pod("b", "p3", "n1", ""))

	check := func(index, value string, want ...string) {
		t.Helper()
		got := names(s.ByIndex(index, value))
		if len(got) != len(want) {
			t.Fatalf("%s=%s: %v, want %v", index, value, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s=%s: %v, want %v", index, value, got, want)
			}
		}
	}
	check(IndexNamespace, "a", "a/p1", "a/p2")
	check(IndexOwner, "rs1", "a/p1", "a/p2")
	check(IndexNodeName, "n1", "a/p1", "b/p3")
	check(IndexOwners, "rs1", "a/p1", "a/p2")
	check(IndexNodeName, "" /* pending pods are not indexed */)

	// Binding p2 moves it into the node's index; deleting p1 drops it
	// from every index.
	s.set(pod("a", "p2", "n2", "rs1"))
	check(IndexNodeName, "n2", "a/p2")
	s.remove("a/p1")
	check(IndexNodeName, "n1", "b/p3")
	check(IndexOwner, "rs1", "a/p2")
	if s.Len() != 2 {
		t.Fatalf("len %d", s.Len())
	}
	if len(s.indexes[IndexNodeName]) != 2 {
		t.Fatalf("empty index values are kept: %v", s.indexes[IndexNodeName])
	}
}
