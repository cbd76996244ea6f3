package object

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestMetaCreatesAndReturnsTheSameMessage(t *testing.T) {
	obj := &metav1.PartialObjectMetadata{}
	Meta(obj).Name = "web"
	if got := obj.GetMetadata().GetName(); got != "web" {
		t.Errorf("got name %q, want web", got)
	}
}

func TestTypeMeta(t *testing.T) {
	obj := &metav1.PartialObjectMetadata{}
	SetTypeMeta(obj, "v1", "Pod")
	if av, k := TypeMeta(obj); av != "v1" || k != "Pod" {
		t.Errorf("got %s %s, want v1 Pod", av, k)
	}
}

func TestPartEqualTreatsUnsetAsEmpty(t *testing.T) {
	a := &metav1.PartialObjectMetadata{}
	b := &metav1.PartialObjectMetadata{Metadata: &metav1.ObjectMeta{}}
	if !PartEqual(a, b, "metadata") {
		t.Error("got unequal for unset vs empty metadata, want equal")
	}
	b.Metadata.Name = "x"
	if PartEqual(a, b, "metadata") {
		t.Error("got equal for unset vs named metadata, want unequal")
	}
	c := proto.Clone(b).(*metav1.PartialObjectMetadata)
	CopyPart(a, c, "metadata")
	if a.GetMetadata().GetName() != "x" {
		t.Errorf("got %q after CopyPart, want x", a.GetMetadata().GetName())
	}
}

func TestCopyPath(t *testing.T) {
	debug := &corev1.EphemeralContainer{EphemeralContainerCommon: &corev1.Container{Name: "debug"}}
	for _, tc := range []struct {
		name     string
		dst, src *corev1.Pod
		want     int // ephemeral containers in dst after
		wantNode string
	}{
		{"copied into an existing spec", &corev1.Pod{Spec: &corev1.PodSpec{NodeName: proto.String("n1")}},
			&corev1.Pod{Spec: &corev1.PodSpec{EphemeralContainers: []*corev1.EphemeralContainer{debug}}}, 1, "n1"},
		{"parents made", &corev1.Pod{}, &corev1.Pod{Spec: &corev1.PodSpec{EphemeralContainers: []*corev1.EphemeralContainer{debug}}}, 1, ""},
		{"cleared when src lacks the parent", &corev1.Pod{Spec: &corev1.PodSpec{NodeName: proto.String("n1"),
			EphemeralContainers: []*corev1.EphemeralContainer{debug}}}, &corev1.Pod{}, 0, "n1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			CopyPath(tc.dst, tc.src, "spec", "ephemeral_containers")
			if got := len(tc.dst.GetSpec().GetEphemeralContainers()); got != tc.want || tc.dst.GetSpec().GetNodeName() != tc.wantNode {
				t.Errorf("got %d ephemeral containers and node %q, want %d and %q", got, tc.dst.GetSpec().GetNodeName(), tc.want, tc.wantNode)
			}
		})
	}
}
