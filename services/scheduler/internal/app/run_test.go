package app

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestNodeChangeMayHelp(t *testing.T) {
	base := &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: "n", Labels: map[string]string{"zone": "a"}},
		Spec:     &corev1.NodeSpec{},
		Status: &corev1.NodeStatus{
			Allocatable: map[string]*metav1.Quantity{"cpu": {String_: "4"}},
			Conditions:  []*corev1.NodeCondition{{Type: "Ready", Status: "True", LastHeartbeatTime: timestamppb.New(timestamppb.Now().AsTime())}},
		},
	}
	for name, c := range map[string]struct {
		change func(n *corev1.Node)
		helps  bool
	}{
		"heartbeat only":   {func(n *corev1.Node) { n.Status.Conditions[0].LastHeartbeatTime = timestamppb.Now() }, false},
		"resource version": {func(n *corev1.Node) { n.Metadata.ResourceVersion = "9" }, false},
		"uncordoned":       {func(n *corev1.Node) { n.Spec.Unschedulable = true }, true},
		"taint removed":    {func(n *corev1.Node) { n.Spec.Taints = []*corev1.Taint{{Key: "k", Effect: "NoSchedule"}} }, true},
		"label":            {func(n *corev1.Node) { n.Metadata.Labels["disk"] = "ssd" }, true},
		"annotation":       {func(n *corev1.Node) { n.Metadata.Annotations = map[string]string{"m": "x"} }, true},
		"allocatable":      {func(n *corev1.Node) { n.Status.Allocatable["cpu"] = &metav1.Quantity{String_: "8"} }, true},
		"new resource":     {func(n *corev1.Node) { n.Status.Allocatable["pods"] = &metav1.Quantity{String_: "110"} }, true},
		"condition turned": {func(n *corev1.Node) { n.Status.Conditions[0].Status = "False" }, true},
		"condition appearing": {func(n *corev1.Node) {
			n.Status.Conditions = append(n.Status.Conditions, &corev1.NodeCondition{Type: "DiskPressure", Status: "False"})
		}, true},
	} {
		updated := proto.Clone(base).(*corev1.Node)
		c.change(updated)
		if got := nodeChangeMayHelp(base, updated); got != c.helps {
			t.Errorf("%s: %v, want %v", name, got, c.helps)
		}
	}
}
