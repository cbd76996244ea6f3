package plugins

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

func q(s string) *metav1.Quantity { return &metav1.Quantity{String_: s} }

func node(name string, labels map[string]string, cpu string, taints ...*corev1.Taint) *framework.NodeInfo {
	return framework.NewNodeInfo(&corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:   &corev1.NodeSpec{Taints: taints},
		Status: &corev1.NodeStatus{Allocatable: map[string]*metav1.Quantity{"cpu": q(cpu), "memory": q("4Gi"), "pods": q("10")}}})
}

func pod(name string, labels map[string]string, edit ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Uid: name, Labels: labels},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "app:1"}}}}
	for _, e := range edit {
		e(p)
	}
	return p
}

func filterWith(t *testing.T, pl framework.FilterPlugin, p *corev1.Pod, nodes ...*framework.NodeInfo) map[string]*framework.Status {
	t.Helper()
	state := framework.NewCycleState(nodes)
	if pf, ok := pl.(framework.PreFilterPlugin); ok {
		if st := pf.PreFilter(context.Background(), state, p); !st.IsSuccess() {
			t.Fatalf("prefilter: %v", st)
		}
	}
	out := map[string]*framework.Status{}
	for _, n := range nodes {
		out[n.Name()] = pl.Filter(context.Background(), state, p, n)
	}
	return out
}

func TestResourcesFit(t *testing.T) {
	busy := node("busy", nil, "2")
	busy.AddPod(pod("x", nil, func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{"cpu": q("1500m")}}
	}))
	want := pod("p", nil, func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{"cpu": q("1"), "memory": q("8Gi")}}
	})
	got := filterWith(t, NodeResourcesFit{}, want, busy, node("free", nil, "4"))
	if st := got["busy"]; st.Code != framework.Unschedulable || st.Message() != "Insufficient cpu, Insufficient memory" {
		t.Fatalf("busy: %v", st)
	}
	if st := got["free"]; st.Code != framework.Unschedulable || st.Message() != "Insufficient memory" {
		t.Fatalf("free: %v", st)
	}
}

func TestTaintsAndSelectors(t *testing.T) {
	tainted := node("gpu", map[string]string{"disk": "ssd"}, "4", &corev1.Taint{Key: "dedicated", Value: "gpu", Effect: "NoSchedule"})
	plain := node("plain", map[string]string{"disk": "hdd"}, "4")
	p := pod("p", nil)
	if st := filterWith(t, TaintToleration{}, p, tainted)["gpu"]; st.Message() != "node(s) had untolerated taint {dedicated: gpu}" {
		t.Fatalf("taint: %v", st)
	}
	p.Spec.Tolerations = []*corev1.Toleration{{Key: "dedicated", Operator: "Exists"}}
	if st := filterWith(t, TaintToleration{}, p, tainted)["gpu"]; !st.IsSuccess() {
		t.Fatalf("tolerated taint: %v", st)
	}
	p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	got := filterWith(t, NodeAffinity{}, p, tainted, plain)
	if !got["gpu"].IsSuccess() || got["plain"].IsSuccess() {
		t.Fatalf("node selector: %v", got)
	}
}

func TestTopologySpread(t *testing.T) {
	a := node("a", map[string]string{"zone": "1"}, "4")
	b := node("b", map[string]string{"zone": "2"}, "4")
	a.AddPod(pod("w1", map[string]string{"app": "web"}))
	a.AddPod(pod("w2", map[string]string{"app": "web"}))
	p := pod("w3", map[string]string{"app": "web"}, func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = []*corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone",
			WhenUnsatisfiable: "DoNotSchedule", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	})
	got := filterWith(t, PodTopologySpread{}, p, a, b)
	if got["a"].IsSuccess() || !got["b"].IsSuccess() {
		t.Fatalf("spread: a=%v b=%v", got["a"], got["b"])
	}
}

func TestInterPodAffinity(t *testing.T) {
	a := node("a", map[string]string{"zone": "1"}, "4")
	b := node("b", map[string]string{"zone": "2"}, "4")
	a.AddPod(pod("db", map[string]string{"app": "db"}))
	near := func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
			TopologyKey: "zone", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}}}}
	}
	got := filterWith(t, InterPodAffinity{}, pod("web", nil, near), a, b)
	if !got["a"].IsSuccess() || got["b"].IsSuccess() {
		t.Fatalf("affinity: a=%v b=%v", got["a"], got["b"])
	}
	apart := pod("web", nil, near)
	apart.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: apart.GetSpec().GetAffinity().GetPodAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()}}
	got = filterWith(t, InterPodAffinity{}, apart, a, b)
	if got["a"].IsSuccess() || !got["b"].IsSuccess() {
		t.Fatalf("anti-affinity: a=%v b=%v", got["a"], got["b"])
	}
	// A running pod's anti-affinity keeps matching newcomers out of its zone.
	loner := pod("loner", nil, func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
			TopologyKey: "zone", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}}
	})
	b.AddPod(loner)
	got = filterWith(t, InterPodAffinity{}, pod("web2", map[string]string{"app": "web"}), a, b)
	if !got["a"].IsSuccess() || got["b"].Message() != "node(s) didn't satisfy existing pods anti-affinity rules" {
		t.Fatalf("existing anti-affinity: a=%v b=%v", got["a"], got["b"])
	}
}

func TestPortsAndNodeName(t *testing.T) {
	n := node("n", nil, "4")
	n.AddPod(pod("x", nil, func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []*corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: "TCP"}}
	}))
	p := pod("p", nil, func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []*corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: "TCP"}}
	})
	if st := filterWith(t, NodePorts{}, p, n)["n"]; st.IsSuccess() {
		t.Fatal("host port conflict passed")
	}
	p.Spec.NodeName = proto.String("elsewhere")
	if st := filterWith(t, NodeName{}, p, n)["n"]; st.Code != framework.UnschedulableAndUnresolvable {
		t.Fatalf("node name: %v", st)
	}
}

func TestLeastAllocatedPrefersEmptierNodes(t *testing.T) {
	full := node("full", nil, "4")
	full.AddPod(pod("x", nil, func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{"cpu": q("3"), "memory": q("3Gi")}}
	}))
	empty := node("empty", nil, "4")
	state := framework.NewCycleState(nil)
	p := pod("p", nil)
	a, _ := NodeResourcesFit{}.Score(context.Background(), state, p, full)
	b, _ := NodeResourcesFit{}.Score(context.Background(), state, p, empty)
	if a >= b {
		t.Fatalf("full scored %d, empty %d", a, b)
	}
}
