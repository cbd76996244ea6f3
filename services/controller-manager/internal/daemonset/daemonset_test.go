package daemonset

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func testDaemonSet(edit func(*corev1.PodSpec)) *appsv1.DaemonSet {
	spec := &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "agent:1"}}}
	if edit != nil {
		edit(spec)
	}
	return &appsv1.DaemonSet{
		Metadata: &metav1.ObjectMeta{Name: "agent", Namespace: "default", Uid: "ds-uid",
			Annotations: map[string]string{TemplateGenerationAnnotation: "3"}},
		Spec: &appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}}, Spec: spec},
			UpdateStrategy: &appsv1.DaemonSetUpdateStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: &metav1.IntOrString{IntVal: 1}, MaxSurge: &metav1.IntOrString{}}},
		},
	}
}

func testNode(name string, labels map[string]string, taints ...*corev1.Taint) *corev1.Node {
	return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels}, Spec: &corev1.NodeSpec{Taints: taints}}
}

func TestShouldRun(t *testing.T) {
	gpu := map[string]string{"gpu": "true"}
	for _, c := range []struct {
		name      string
		edit      func(*corev1.PodSpec)
		node      *corev1.Node
		run, keep bool
	}{
		{"plain node", nil, testNode("a", nil), true, true},
		{"node selector matches", func(s *corev1.PodSpec) { s.NodeSelector = gpu }, testNode("a", gpu), true, true},
		{"node selector does not match", func(s *corev1.PodSpec) { s.NodeSelector = gpu }, testNode("a", nil), false, false},
		{"required affinity", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: []*corev1.NodeSelectorRequirement{{Key: "gpu", Operator: "Exists"}}}}}}}
		}, testNode("a", nil), false, false},
		{"untolerated NoSchedule taint", nil, testNode("a", nil, &corev1.Taint{Key: "dedicated", Value: "infra", Effect: "NoSchedule"}), false, true},
		{"untolerated NoExecute taint", nil, testNode("a", nil, &corev1.Taint{Key: "dedicated", Effect: "NoExecute"}), false, false},
		{"PreferNoSchedule taint", nil, testNode("a", nil, &corev1.Taint{Key: "dedicated", Effect: "PreferNoSchedule"}), true, true},
		{"tolerated taint", func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "infra", Effect: "NoSchedule"}}
		}, testNode("a", nil, &corev1.Taint{Key: "dedicated", Value: "infra", Effect: "NoSchedule"}), true, true},
		{"automatic toleration of not-ready", nil, testNode("a", nil, &corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: "NoExecute"}), true, true},
		{"cordoned node", nil, testNode("a", nil, &corev1.Taint{Key: "node.kubernetes.io/unschedulable", Effect: "NoSchedule"}), true, true},
		{"network unavailable", nil, testNode("a", nil, &corev1.Taint{Key: "node.kubernetes.io/network-unavailable", Effect: "NoSchedule"}), false, true},
		{"network unavailable, host network", func(s *corev1.PodSpec) { s.HostNetwork = boolp(true) },
			testNode("a", nil, &corev1.Taint{Key: "node.kubernetes.io/network-unavailable", Effect: "NoSchedule"}), true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			run, keep := shouldRun(testDaemonSet(c.edit), c.node)
			if run != c.run || keep != c.keep {
				t.Errorf("got run %v keep %v, want %v %v", run, keep, c.run, c.keep)
			}
		})
	}
}

func boolp(b bool) *bool { return &b }

func TestNewPodIsPinnedAndLabelled(t *testing.T) {
	ds := testDaemonSet(func(s *corev1.PodSpec) {
		s.Tolerations = []*corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: int64p(300)}}
		s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: []*corev1.NodeSelectorRequirement{{Key: "gpu", Operator: "Exists"}}}}}}}
	})
	pod := newPod(ds, podTemplate(ds, "abc"), "node-1")
	if got := targetNode(pod); got != "node-1" {
		t.Errorf("target node %q, want node-1", got)
	}
	if l := pod.GetMetadata().GetLabels(); l[RevisionHashLabel] != "abc" || l[TemplateGenerationLabel] != "3" || l["app"] != "agent" {
		t.Errorf("labels %v", l)
	}
	if pod.GetMetadata().GetGenerateName() != "agent-" || !pod.GetMetadata().GetOwnerReferences()[0].GetController() {
		t.Errorf("metadata %v", pod.GetMetadata())
	}
	var keys []string
	for _, tol := range pod.GetSpec().GetTolerations() {
		keys = append(keys, tol.GetKey())
		if tol.GetKey() == "node.kubernetes.io/not-ready" && tol.TolerationSeconds != nil {
			t.Errorf("not-ready toleration keeps tolerationSeconds %d: the daemon would be evicted", tol.GetTolerationSeconds())
		}
	}
	if len(keys) != 6 || slices.Contains(keys, "node.kubernetes.io/network-unavailable") {
		t.Errorf("tolerations %v, want the six automatic ones without network-unavailable", keys)
	}
	if ds.GetSpec().GetTemplate().GetSpec().GetTolerations()[0].TolerationSeconds == nil {
		t.Error("the DaemonSet's own template was changed")
	}
}

func int64p(n int64) *int64 { return &n }

func TestDesiredCounts(t *testing.T) {
	nodes := []*corev1.Node{testNode("a", nil), testNode("b", nil), testNode("c", nil), testNode("d", nil),
		testNode("t", nil, &corev1.Taint{Key: "x", Effect: "NoSchedule"})}
	for _, c := range []struct {
		unavailable, surge     *metav1.IntOrString
		wantSurge, wantUnavail int
	}{
		{&metav1.IntOrString{IntVal: 1}, &metav1.IntOrString{}, 0, 1},
		{&metav1.IntOrString{Type: 1, StrVal: "30%"}, &metav1.IntOrString{}, 0, 2}, // rounded up
		{&metav1.IntOrString{}, &metav1.IntOrString{Type: 1, StrVal: "50%"}, 2, 0},
		{&metav1.IntOrString{}, &metav1.IntOrString{}, 0, 1}, // never both zero
	} {
		ds := testDaemonSet(nil)
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: c.unavailable, MaxSurge: c.surge}
		byNode := map[string][]*corev1.Pod{}
		surge, unavail, desired := desiredCounts(ds, nodes, byNode)
		if surge != c.wantSurge || unavail != c.wantUnavail || desired != 4 || len(byNode) != 4 {
			t.Errorf("%v/%v: got surge %d unavailable %d desired %d nodes %d, want %d %d 4 4", c.unavailable, c.surge, surge, unavail, desired, len(byNode), c.wantSurge, c.wantUnavail)
		}
	}
}

func testPod(name string, created time.Time, hash string, readyFor time.Duration, now time.Time) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, CreationTimestamp: timestamppb.New(created),
		Labels: map[string]string{RevisionHashLabel: hash}}, Status: &corev1.PodStatus{Phase: "Running"}}
	if readyFor >= 0 {
		p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: timestamppb.New(now.Add(-readyFor))}}
	}
	return p
}

func TestExtraPods(t *testing.T) {
	now := time.Now()
	ds := testDaemonSet(nil)
	ds.Spec.MinReadySeconds = 10
	old := func(ready time.Duration) *corev1.Pod { return testPod("old", now.Add(-time.Hour), "h1", ready, now) }
	fresh := func(ready time.Duration) *corev1.Pod { return testPod("new", now.Add(-time.Minute), "h2", ready, now) }
	names := func(pods []*corev1.Pod) []string {
		var out []string
		for _, p := range pods {
			out = append(out, p.GetMetadata().GetName())
		}
		return out
	}
	for _, c := range []struct {
		name  string
		surge bool
		pods  []*corev1.Pod
		want  []string
	}{
		{"one pod", false, []*corev1.Pod{old(time.Hour)}, nil},
		{"no surge keeps the oldest", false, []*corev1.Pod{fresh(time.Hour), old(time.Hour)}, []string{"new"}},
		{"surge: new not yet available", true, []*corev1.Pod{old(time.Hour), fresh(5 * time.Second)}, nil},
		{"surge: new available", true, []*corev1.Pod{old(time.Hour), fresh(time.Minute)}, []string{"old"}},
		{"surge: old not ready", true, []*corev1.Pod{old(-1), fresh(-1)}, []string{"old"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := names(extraPods(ds, c.pods, c.surge, "h2", now)); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(time.Second, 4*time.Second)
	now := time.Now()
	if w := b.wait("k", now); w != 0 {
		t.Fatalf("first failure waits %v", w)
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		b.next("k", now)
		if w := b.wait("k", now); w != want {
			t.Fatalf("after %d replacements: wait %v, want %v", i+1, w, want)
		}
		now = now.Add(want)
	}
	if w := b.wait("k", now.Add(9*time.Second)); w != 0 {
		t.Fatalf("after a quiet spell: wait %v, want 0", w)
	}
}
