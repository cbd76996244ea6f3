package replicaset

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: timestamppb.New(t0),
		Labels: map[string]string{"app": "web"}}, Spec: &corev1.PodSpec{}, Status: &corev1.PodStatus{Phase: "Pending"}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func on(node string) podOpt  { return func(p *corev1.Pod) { p.Spec.NodeName = &node } }
func phase(ph string) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.Metadata.CreationTimestamp = timestamppb.New(t0.Add(d)) }
}
func ready(since time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: timestamppb.New(t0.Add(since))}}
	}
}
func restarted(n int32) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = []*corev1.ContainerStatus{{RestartCount: n}} }
}

func TestPodsToDelete(t *testing.T) {
	pods := []*corev1.Pod{
		pod("running-ready-old", on("n"), phase("Running"), ready(0)),
		pod("running-ready-new", on("n"), phase("Running"), ready(time.Minute)),
		pod("running-unready", on("n"), phase("Running")),
		pod("pending-on-node", on("n")),
		pod("unscheduled"),
		pod("running-unready-restarts", on("n"), phase("Running"), restarted(4)),
		pod("running-unready-newer", on("n"), phase("Running"), created(time.Hour)),
	}
	want := []string{"unscheduled", "pending-on-node", "running-unready-restarts", "running-unready-newer",
		"running-unready", "running-ready-new", "running-ready-old"}
	got := PodsToDelete(pods, len(pods))
	for i, p := range got {
		if p.GetMetadata().GetName() != want[i] {
			t.Fatalf("deletion order %d: got %s, want %s (all: %v)", i, p.GetMetadata().GetName(), want[i], names(got))
		}
	}
	if n := len(PodsToDelete(pods, 2)); n != 2 {
		t.Fatalf("asked for 2, got %d", n)
	}
}

func names(pods []*corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.GetMetadata().GetName()
	}
	return out
}

func TestComputeStatus(t *testing.T) {
	replicas := int32(4)
	rs := &appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Name: "web", Generation: 3},
		Spec: &appsv1.ReplicaSetSpec{Replicas: &replicas, MinReadySeconds: 30,
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}}}}}
	now := t0.Add(time.Minute)
	pods := []*corev1.Pod{
		pod("available", ready(0), func(p *corev1.Pod) { p.Metadata.Labels["tier"] = "front" }),
		pod("ready-10s-ago", ready(50*time.Second)),
		pod("not-ready"),
	}
	st, after := computeStatus(rs, pods, nil, now)
	if st.GetReplicas() != 3 || st.GetFullyLabeledReplicas() != 1 || st.GetReadyReplicas() != 2 || st.GetAvailableReplicas() != 1 || st.GetObservedGeneration() != 3 {
		t.Fatalf("status %v", st)
	}
	if after < 20*time.Second || after > 21*time.Second {
		t.Fatalf("look again after %v, want about 20s (when ready-10s-ago becomes available)", after)
	}
	if len(st.GetConditions()) != 0 {
		t.Fatalf("conditions %v", st.GetConditions())
	}
	st, _ = computeStatus(rs, pods, errors.New("quota exceeded"), now)
	if len(st.GetConditions()) != 1 || st.GetConditions()[0].GetType() != "ReplicaFailure" || st.GetConditions()[0].GetMessage() != "quota exceeded" {
		t.Fatalf("conditions %v", st.GetConditions())
	}
	rs.Status = st
	later, _ := computeStatus(rs, pods, errors.New("quota exceeded"), now.Add(time.Hour))
	if !later.GetConditions()[0].GetLastTransitionTime().AsTime().Equal(now) {
		t.Fatal("a failure that goes on keeps its transition time")
	}
}

func TestNewPod(t *testing.T) {
	rs := &appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Name: "web-5d8f", Namespace: "shop", Uid: "u1"},
		Spec: &appsv1.ReplicaSetSpec{Template: &corev1.PodTemplateSpec{
			Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"}},
			Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "img"}}}}}}
	p := NewPod(rs)
	m := p.GetMetadata()
	if m.GetGenerateName() != "web-5d8f-" || m.GetNamespace() != "shop" || m.GetLabels()["app"] != "web" || m.GetAnnotations()["a"] != "b" {
		t.Fatalf("metadata %v", m)
	}
	ref := m.GetOwnerReferences()
	if len(ref) != 1 || ref[0].GetUid() != "u1" || !ref[0].GetController() || !ref[0].GetBlockOwnerDeletion() || ref[0].GetKind() != "ReplicaSet" {
		t.Fatalf("owner references %v", ref)
	}
	p.Spec.Containers[0].Image = "changed"
	if rs.Spec.Template.Spec.Containers[0].Image != "img" {
		t.Fatal("the pod shares its spec with the template")
	}
}
