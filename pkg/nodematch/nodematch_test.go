package nodematch

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestRequired(t *testing.T) {
	node := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-a", Labels: map[string]string{"zone": "a", "cpus": "8"}}}
	term := func(exprs []*corev1.NodeSelectorRequirement, fields ...*corev1.NodeSelectorRequirement) *corev1.PodSpec {
		return &corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []*corev1.NodeSelectorTerm{
				{MatchExpressions: exprs, MatchFields: fields}}}}}}
	}
	req := func(key, op string, values ...string) *corev1.NodeSelectorRequirement {
		return &corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	for _, tt := range []struct {
		name string
		spec *corev1.PodSpec
		want bool
	}{
		{"nothing asked", &corev1.PodSpec{}, true},
		{"node selector", &corev1.PodSpec{NodeSelector: map[string]string{"zone": "a"}}, true},
		{"node selector elsewhere", &corev1.PodSpec{NodeSelector: map[string]string{"zone": "b"}}, false},
		{"In", term([]*corev1.NodeSelectorRequirement{req("zone", "In", "a", "b")}), true},
		{"NotIn", term([]*corev1.NodeSelectorRequirement{req("zone", "NotIn", "a")}), false},
		{"DoesNotExist", term([]*corev1.NodeSelectorRequirement{req("gpu", "DoesNotExist")}), true},
		{"Gt", term([]*corev1.NodeSelectorRequirement{req("cpus", "Gt", "4")}), true},
		{"Lt", term([]*corev1.NodeSelectorRequirement{req("cpus", "Lt", "4")}), false},
		{"the node's name", term(nil, req("metadata.name", "In", "node-a")), true},
		{"another name", term(nil, req("metadata.name", "In", "node-b")), false},
		{"empty term", term(nil), false},
	} {
		if got := Required(tt.spec, node); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTolerates(t *testing.T) {
	taint := &corev1.Taint{Key: "dedicated", Value: "db", Effect: "NoSchedule"}
	for _, tt := range []struct {
		name string
		tol  *corev1.Toleration
		want bool
	}{
		{"equal", &corev1.Toleration{Key: "dedicated", Value: "db"}, true},
		{"other value", &corev1.Toleration{Key: "dedicated", Value: "web"}, false},
		{"exists", &corev1.Toleration{Key: "dedicated", Operator: "Exists", Effect: "NoSchedule"}, true},
		{"other effect", &corev1.Toleration{Key: "dedicated", Operator: "Exists", Effect: "NoExecute"}, false},
		{"everything", &corev1.Toleration{Operator: "Exists"}, true},
		{"no key with Equal", &corev1.Toleration{Value: "db"}, false},
	} {
		if got := Tolerates(tt.tol, taint); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if Tolerated(nil, taint) {
		t.Error("no tolerations tolerate a taint")
	}
}
