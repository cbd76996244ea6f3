package service

import (
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestOurs(t *testing.T) {
	class := "example.com/other"
	empty := ""
	deleting := &metav1.ObjectMeta{DeletionTimestamp: timestamppb.Now()}
	tests := []struct {
		name       string
		svc        *corev1.Service
		ours, want bool
	}{
		{"load balancer", &corev1.Service{Spec: &corev1.ServiceSpec{Type: "LoadBalancer"}}, true, true},
		{"empty class", &corev1.Service{Spec: &corev1.ServiceSpec{Type: "LoadBalancer", LoadBalancerClass: &empty}}, true, true},
		{"another class", &corev1.Service{Spec: &corev1.ServiceSpec{Type: "LoadBalancer", LoadBalancerClass: &class}}, false, false},
		{"cluster IP", &corev1.Service{Spec: &corev1.ServiceSpec{Type: "ClusterIP"}}, false, false},
		{"being deleted", &corev1.Service{Metadata: deleting, Spec: &corev1.ServiceSpec{Type: "LoadBalancer"}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ours(tt.svc); got != tt.ours {
				t.Errorf("ours: got %v, want %v", got, tt.ours)
			}
			if got := wantsLoadBalancer(tt.svc); got != tt.want {
				t.Errorf("wantsLoadBalancer: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEligible(t *testing.T) {
	node := func(ready string, labels map[string]string) *corev1.Node {
		n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n", Labels: labels}, Status: &corev1.NodeStatus{}}
		if ready != "" {
			n.Status.Conditions = []*corev1.NodeCondition{{Type: "Ready", Status: ready}}
		}
		return n
	}
	tests := []struct {
		name string
		node *corev1.Node
		want bool
	}{
		{"ready", node("True", nil), true},
		{"not ready", node("False", nil), false},
		{"no condition", node("", nil), false},
		{"excluded", node("True", map[string]string{ExcludeLabel: ""}), false},
	}
	for _, tt := range tests {
		if got := eligible(tt.node); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestUnchanged(t *testing.T) {
	c := &Controller{applied: map[string]*applied{}}
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "s"}, Spec: &corev1.ServiceSpec{Type: "LoadBalancer"}}
	if same, _ := c.unchanged("default/s", svc, "a"); same {
		t.Fatal("a Service never applied is unchanged")
	}
	c.remember("default/s", svc, "a")
	if same, nodes := c.unchanged("default/s", svc, "a"); !same || nodes {
		t.Fatalf("same Service and nodes: got same=%v nodesChanged=%v, want true false", same, nodes)
	}
	if same, nodes := c.unchanged("default/s", svc, "a,b"); !same || !nodes {
		t.Fatalf("a node joined: got same=%v nodesChanged=%v, want true true", same, nodes)
	}
	other := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "s"}, Spec: &corev1.ServiceSpec{Type: "LoadBalancer", LoadBalancerIp: "10.0.0.1"}}
	if same, _ := c.unchanged("default/s", other, "a"); same {
		t.Fatal("a changed spec is unchanged")
	}
}
