package object

import (
	"testing"

	"google.golang.org/protobuf/proto"

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
