package history

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func template(image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: image}}},
	}
}

func TestTemplatePatchRoundTrip(t *testing.T) {
	data, err := TemplatePatch(template("nginx:1"))
	if err != nil {
		t.Fatal(err)
	}
	var patch map[string]map[string]map[string]any
	if err := json.Unmarshal(data, &patch); err != nil {
		t.Fatal(err)
	}
	if got := patch["spec"]["template"]["$patch"]; got != "replace" {
		t.Fatalf("$patch = %v, want replace: %s", got, data)
	}
	back, err := Template(&appsv1.ControllerRevision{Data: &metav1.RawExtension{Raw: data}})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, template("nginx:1")) {
		t.Fatalf("template back = %v", back)
	}
	if _, err := Template(&appsv1.ControllerRevision{Data: &metav1.RawExtension{Raw: []byte(`{"spec":{}}`)}}); err == nil {
		t.Fatal("a revision without a template read as one")
	}
}

func TestHashAndName(t *testing.T) {
	a, b := []byte(`{"spec":{"template":{"a":1}}}`), []byte(`{"spec":{"template":{"a":2}}}`)
	if Hash(a, nil) != Hash(a, nil) {
		t.Fatal("hash is not deterministic")
	}
	if Hash(a, nil) == Hash(b, nil) {
		t.Fatal("different data, same hash")
	}
	one := int32(1)
	if Hash(a, nil) == Hash(a, &one) {
		t.Fatal("a collision count does not change the hash")
	}
	for _, r := range Hash(a, &one) {
		if !strings.ContainsRune("bcdfghjklmnpqrstvwxz2456789", r) {
			t.Fatalf("hash %q has %q, outside the generated-name alphabet", Hash(a, &one), r)
		}
	}
	if n := Name(strings.Repeat("x", 300), "abc"); len(n) != 223+4 {
		t.Fatalf("long owner name gives %d characters", len(n))
	}
}

func TestNewEqualSortNext(t *testing.T) {
	yes := true
	owner := &metav1.ObjectMeta{Name: "web", Namespace: "default", Uid: "u1"}
	ref := &metav1.OwnerReference{ApiVersion: "apps/v1", Kind: "DaemonSet", Name: "web", Uid: "u1", Controller: &yes}
	d1, _ := TemplatePatch(template("nginx:1"))
	d2, _ := TemplatePatch(template("nginx:2"))
	r1 := New(owner, ref, map[string]string{"app": "web"}, d1, 1, nil)
	r2 := New(owner, ref, map[string]string{"app": "web"}, d2, 2, nil)
	if r1.GetMetadata().GetName() != "web-"+Hash(d1, nil) || r1.GetMetadata().GetLabels()[HashLabel] != Hash(d1, nil) {
		t.Fatalf("revision meta %v", r1.GetMetadata())
	}
	if r1.GetMetadata().GetLabels()["app"] != "web" || r1.GetMetadata().GetNamespace() != "default" {
		t.Fatalf("revision labels %v", r1.GetMetadata())
	}
	if !Equal(r1, proto.Clone(r1).(*appsv1.ControllerRevision)) || Equal(r1, r2) || Equal(r1, nil) {
		t.Fatal("Equal")
	}
	if got := FindEqual([]*appsv1.ControllerRevision{r1, r2}, r2); len(got) != 1 || got[0] != r2 {
		t.Fatalf("FindEqual = %v", got)
	}
	r3 := New(owner, ref, nil, d1, 2, nil)
	r3.Metadata.Name = "web-a"
	r2.Metadata.CreationTimestamp = timestamppb.Now()
	revs := []*appsv1.ControllerRevision{r2, r3, r1}
	Sort(revs)
	if revs[0] != r1 || revs[1] != r3 || revs[2] != r2 {
		t.Fatalf("sorted: %s %s %s", revs[0].GetMetadata().GetName(), revs[1].GetMetadata().GetName(), revs[2].GetMetadata().GetName())
	}
	if Next(revs) != 3 || Next(nil) != 1 {
		t.Fatalf("Next = %d", Next(revs))
	}
}
