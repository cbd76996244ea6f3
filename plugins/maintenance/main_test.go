package main

import (
	"context"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func node(name, state string) *corev1.Node {
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}}
	if state != "" {
		n.Metadata.Annotations = map[string]string{"scheduling.skiff.dev/maintenance": state}
	}
	return n
}

func TestMaintenance(t *testing.T) {
	m := &maintenance{annotation: "scheduling.skiff.dev/maintenance", ignore: "scheduling.skiff.dev/ignore-maintenance"}
	nodes := []*corev1.Node{node("a", ""), node("b", active), node("c", planned)}
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}}
	exempt := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "agent",
		Annotations: map[string]string{"scheduling.skiff.dev/ignore-maintenance": "true"}}}
	ctx := context.Background()

	rejected, _ := m.Filter(ctx, pod, nodes)
	if len(rejected) != 1 || rejected[0].Node != "b" {
		t.Errorf("filter rejected %v, want only b", rejected)
	}
	if rejected, _ := m.Filter(ctx, exempt, nodes); len(rejected) != 0 {
		t.Errorf("exempt pod rejected on %v", rejected)
	}
	scores, _ := m.Score(ctx, pod, nodes)
	if scores["a"] != 100 || scores["c"] != 0 {
		t.Errorf("scores %v: want a=100, c=0", scores)
	}
	if ok, reason, _ := m.Permit(ctx, pod, nodes[1]); ok || reason == "" {
		t.Errorf("permit on a node under maintenance: %v %q", ok, reason)
	}
	if ok, _, _ := m.Permit(ctx, pod, nodes[0]); !ok {
		t.Error("permit refused a node without maintenance")
	}
}
