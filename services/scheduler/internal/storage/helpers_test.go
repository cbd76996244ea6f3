package storage

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

func node(name string, labels map[string]string) *framework.NodeInfo {
	return framework.NewNodeInfo(&corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels}})
}

// claim builds a claim: class "" is no class; volume "" is unbound.
func claim(name, class, volume string, modes ...string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name, Uid: "uid-" + name, Annotations: map[string]string{}},
		Spec: &corev1.PersistentVolumeClaimSpec{AccessModes: modes, VolumeName: volume,
			Resources: &corev1.VolumeResourceRequirements{Requests: map[string]*metav1.Quantity{"storage": {String_: "1Gi"}}}},
		Status: &corev1.PersistentVolumeClaimStatus{Phase: "Pending"},
	}
	if class != "" {
		c.Spec.StorageClassName = proto.String(class)
	}
	if volume != "" {
		c.Status.Phase = "Bound"
		c.Metadata.Annotations[AnnBindCompleted] = "yes"
	}
	if len(modes) == 0 {
		c.Spec.AccessModes = []string{"ReadWriteOnce"}
	}
	return c
}

func pod(name string, claims ...string) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name, Uid: "uid-" + name}, Spec: &corev1.PodSpec{}}
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, &corev1.Volume{Name: c, VolumeSource: &corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return p
}

// pinned is a node affinity to nodes whose key label is one of values.
func pinned(key string, values ...string) *corev1.NodeSelector {
	return &corev1.NodeSelector{NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: []*corev1.NodeSelectorRequirement{
		{Key: key, Operator: "In", Values: values}}}}}
}

const gi = int64(1) << 30

func ptr[T any](v T) *T { return &v }

// filterPlugin is a plugin run as the scheduler runs it.
type filterPlugin interface {
	framework.PreFilterPlugin
	framework.FilterPlugin
}

// runFilter runs PreFilter then, unless it rejected or skipped, Filter;
// it returns the status the scheduler would record for the node.
func runFilter(t *testing.T, pl filterPlugin, p *corev1.Pod, n *framework.NodeInfo, nodes ...*framework.NodeInfo) *framework.Status {
	t.Helper()
	state := framework.NewCycleState(append([]*framework.NodeInfo{n}, nodes...))
	if st := pl.PreFilter(context.Background(), state, p); !st.IsSuccess() {
		return st
	}
	if state.FilterSkipped(pl.Name()) {
		return nil
	}
	return pl.Filter(context.Background(), state, p, n)
}

func wantStatus(t *testing.T, got *framework.Status, code framework.Code, msg string) {
	t.Helper()
	if msg == "" {
		if !got.IsSuccess() {
			t.Fatalf("status %v, want success", got)
		}
		return
	}
	if got.IsSuccess() || got.Code != code || got.Message() != msg {
		t.Fatalf("status %+v (%q), want code %d %q", got, got.Message(), code, msg)
	}
}

func nowStamp() *timestamppb.Timestamp { return timestamppb.Now() }
