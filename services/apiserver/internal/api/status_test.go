package api

import (
	"maps"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// TestStatusWritesKeepMetadata: a write through */status keeps the
// metadata it changes, as Kubernetes' status strategies do (the conformance
// specs patch an annotation through status and read it back), except what
// a kind's status strategy resets: a Deployment's labels, a Pod's
// ownerReferences. The spec never changes.
func TestStatusWritesKeepMetadata(t *testing.T) {
	a, ctx := newTestAPI(t)
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"app": "p"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "s", Namespace: "default", Labels: map[string]string{"app": "s"}},
		Spec: &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80}}}}
	dep := deployment("d")
	dep.Metadata.Labels = map[string]string{"app": "d"}
	owner := `"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n","uid":"1234"}]`
	cases := []struct {
		name, plural string
		group        string
		obj          proto.Message
		patch        string
		wantLabels   map[string]string
		wantOwners   int
	}{
		{"pod keeps annotations and labels, not ownerReferences", "pods", "", pod,
			`{"metadata":{"annotations":{"patchedstatus":"true"},"labels":{"extra":"x"},` + owner + `},"spec":{"nodeName":"elsewhere"},"status":{"message":"Patched by e2e test"}}`,
			map[string]string{"app": "p", "extra": "x"}, 0},
		{"service keeps annotations and labels", "services", "", svc,
			`{"metadata":{"annotations":{"patchedstatus":"true"},"labels":{"extra":"x"},` + owner + `},"spec":{"type":"NodePort"},"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.1"}]}}}`,
			map[string]string{"app": "s", "extra": "x"}, 1},
		{"deployment keeps annotations, not labels", "deployments", "apps", dep,
			`{"metadata":{"annotations":{"patchedstatus":"true"},"labels":{"extra":"x"}},"spec":{"replicas":7},"status":{"collisionCount":1}}`,
			map[string]string{"app": "d"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := a.Backend(c.group, c.plural)
			created, err := b.Create(ctx, c.obj, registry.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			meta := object.Meta(created)
			out, err := b.Patch(ctx, meta.GetNamespace(), meta.GetName(),
				registry.Patch{Type: registry.PatchMerge, Data: []byte(c.patch)}, registry.UpdateOptions{Subresource: "status"})
			if err != nil {
				t.Fatal(err)
			}
			got := object.Meta(out)
			if v := got.GetAnnotations()["patchedstatus"]; v != "true" {
				t.Errorf("annotation patchedstatus: got %q, want true", v)
			}
			if !maps.Equal(got.GetLabels(), c.wantLabels) {
				t.Errorf("labels: got %v, want %v", got.GetLabels(), c.wantLabels)
			}
			if n := len(got.GetOwnerReferences()); n != c.wantOwners {
				t.Errorf("ownerReferences: got %d, want %d", n, c.wantOwners)
			}
			if got.GetUid() != meta.GetUid() || got.GetGeneration() != meta.GetGeneration() ||
				!proto.Equal(got.GetCreationTimestamp(), meta.GetCreationTimestamp()) {
				t.Errorf("system metadata changed: got %v, want uid, generation and creationTimestamp of %v", got, meta)
			}
			if !object.PartEqual(out, created, "spec") {
				t.Errorf("spec changed through status: got %v, want %v", object.Part(out, "spec"), object.Part(created, "spec"))
			}
			if object.PartEqual(out, created, "status") {
				t.Errorf("status unchanged: got %v", object.Part(out, "status"))
			}
			stored, err := b.Get(ctx, meta.GetNamespace(), meta.GetName(), registry.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if keys := slices.Sorted(maps.Keys(object.Meta(stored).GetAnnotations())); !slices.Contains(keys, "patchedstatus") {
				t.Errorf("stored annotations: got %v, want patchedstatus among them", keys)
			}
		})
	}
}

// TestUnsupportedPatchTypeIsRefusedFirst: a patch type the server cannot
// apply answers 415 whether or not the object exists, as Kubernetes checks
// the type before anything else.
func TestUnsupportedPatchTypeIsRefusedFirst(t *testing.T) {
	a, ctx := newTestAPI(t)
	cms := a.Backend("", "configmaps")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "there", Namespace: "default"}}, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"there", "missing"} {
		for _, typ := range []string{"application/x-unknown"} {
			_, err := cms.Patch(ctx, "default", name, registry.Patch{Type: typ, Data: []byte(`{}`)}, registry.UpdateOptions{})
			if got := apierrors.ReasonOf(err); got != apierrors.ReasonUnsupportedMediaType {
				t.Errorf("%s patch of %s: got %v, want UnsupportedMediaType", typ, name, err)
			}
		}
	}
}
