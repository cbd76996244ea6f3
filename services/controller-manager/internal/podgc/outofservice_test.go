package podgc

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
)

func TestOutOfService(t *testing.T) {
	node := func(ready string, taints ...string) *corev1.Node {
		n := &corev1.Node{Spec: &corev1.NodeSpec{}, Status: &corev1.NodeStatus{}}
		if ready != "" {
			n.Status.Conditions = []*corev1.NodeCondition{{Type: "Ready", Status: ready}}
		}
		for _, k := range taints {
			n.Spec.Taints = append(n.Spec.Taints, &corev1.Taint{Key: k, Effect: "NoExecute"})
		}
		return n
	}
	cases := []struct {
		name string
		node *corev1.Node
		want bool
	}{
		{"not ready and tainted", node("False", TaintOutOfService), true},
		{"unknown and tainted", node("Unknown", "node.kubernetes.io/unreachable", TaintOutOfService), true},
		{"no Ready condition and tainted", node("", TaintOutOfService), true},
		{"ready though tainted", node("True", TaintOutOfService), false},
		{"not ready, not tainted", node("False", "node.kubernetes.io/not-ready"), false},
	}
	for _, c := range cases {
		if got := outOfService(c.node); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
