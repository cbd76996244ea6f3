package rootcacertpublisher

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/controller-manager/internal/controller"
)

// published is the ConfigMap as the controller writes it, with extra
// metadata someone added.
func published(ca string, edit func(cm *corev1.ConfigMap)) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		Metadata: &metav1.ObjectMeta{Name: ConfigMapName, Namespace: "shop", ResourceVersion: "7",
			Labels:      map[string]string{"team": "a"},
			Annotations: map[string]string{DescriptionAnnotation: Description, "note": "mine"}},
		Data: map[string]string{DataKey: ca},
	}
	if edit != nil {
		edit(cm)
	}
	return cm
}

func TestDesired(t *testing.T) {
	for _, c := range []struct {
		name      string
		cm        *corev1.ConfigMap
		wantWrite bool
	}{
		{"as published", published("CA", nil), false},
		{"another description kept", published("CA", func(cm *corev1.ConfigMap) { cm.Metadata.Annotations[DescriptionAnnotation] = "ours" }), false},
		{"binaryData kept", published("CA", func(cm *corev1.ConfigMap) { cm.BinaryData = map[string][]byte{"x": {1}} }), false},
		{"missing", nil, true},
		{"old CA", published("OLD", nil), true},
		{"data edited", published("tampered", nil), true},
		{"data key added", published("CA", func(cm *corev1.ConfigMap) { cm.Data["extra"] = "x" }), true},
		{"data emptied", published("CA", func(cm *corev1.ConfigMap) { cm.Data = nil }), true},
		{"description removed", published("CA", func(cm *corev1.ConfigMap) { delete(cm.Metadata.Annotations, DescriptionAnnotation) }), true},
		{"description emptied", published("CA", func(cm *corev1.ConfigMap) { cm.Metadata.Annotations[DescriptionAnnotation] = "" }), true},
		{"no annotations", published("CA", func(cm *corev1.ConfigMap) { cm.Metadata.Annotations = nil }), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := proto.Clone(c.cm)
			got := desired("shop", c.cm, "CA")
			if (got != nil) != c.wantWrite {
				t.Fatalf("got a write %v, want one: %v", got, c.wantWrite)
			}
			if c.cm != nil && !proto.Equal(before, c.cm) {
				t.Fatalf("the cached ConfigMap was changed: %v", c.cm)
			}
			if got != nil {
				checkWrite(t, c.cm, got)
			}
		})
	}
}

// checkWrite checks a write: the CA and description in place, and the
// rest of the cached object (name, resourceVersion, other metadata,
// binaryData) kept.
func checkWrite(t *testing.T, cached, got *corev1.ConfigMap) {
	t.Helper()
	if want := map[string]string{DataKey: "CA"}; !maps.Equal(got.GetData(), want) {
		t.Errorf("data: got %v, want %v", got.GetData(), want)
	}
	if d := got.GetMetadata().GetAnnotations()[DescriptionAnnotation]; d != Description {
		t.Errorf("description: got %q, want Kubernetes' text", d)
	}
	m := got.GetMetadata()
	if m.GetName() != ConfigMapName || m.GetNamespace() != "shop" {
		t.Errorf("got %s/%s, want shop/%s", m.GetNamespace(), m.GetName(), ConfigMapName)
	}
	if cached == nil {
		return
	}
	if m.GetResourceVersion() != "7" || m.GetLabels()["team"] != "a" || !maps.EqualFunc(got.GetBinaryData(), cached.GetBinaryData(), bytes.Equal) {
		t.Errorf("got %v, want the cached object's resourceVersion, labels and binaryData kept", got)
	}
	if cached.GetMetadata().GetAnnotations()["note"] != "" && m.GetAnnotations()["note"] != "mine" {
		t.Errorf("annotations: got %v, want the note kept", m.GetAnnotations())
	}
}

func TestActive(t *testing.T) {
	for _, c := range []struct {
		name string
		ns   *corev1.Namespace
		want bool
	}{
		{"new", &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "a"}}, true},
		{"Active", &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "a"}, Status: &corev1.NamespaceStatus{Phase: "Active"}}, true},
		{"Terminating", &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "a"}, Status: &corev1.NamespaceStatus{Phase: "Terminating"}}, false},
		{"deleted", &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "a", DeletionTimestamp: timestamppb.Now()}}, false},
	} {
		if got := active(c.ns); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func statusErr(reason string, causes ...string) error {
	st := &metav1.Status{Reason: reason, Message: reason, Details: &metav1.StatusDetails{}}
	for _, c := range causes {
		st.Details.Causes = append(st.Details.Causes, &metav1.StatusCause{Reason: c})
	}
	return &client.StatusError{Status: st}
}

func TestCreateResult(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string // "" nil, "retry" ErrRetry, "error" a wrapped error
	}{
		{"created", nil, ""},
		{"namespace gone", statusErr("NotFound"), ""},
		{"namespace terminating", statusErr("Forbidden", "NamespaceTerminating"), ""},
		{"terminating, wrapped", fmt.Errorf("x: %w", statusErr("Forbidden", "NamespaceTerminating")), ""},
		{"created meanwhile", statusErr("AlreadyExists"), "retry"},
		{"forbidden otherwise", statusErr("Forbidden"), "error"},
		{"server error", statusErr("InternalError"), "error"},
		{"transport", errors.New("connection refused"), "error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := createResult("shop", c.err)
			var got string
			switch {
			case err == nil:
			case errors.Is(err, controller.ErrRetry):
				got = "retry"
			case errors.Is(err, c.err):
				got = "error"
			default:
				t.Fatalf("got %v, which does not wrap %v", err, c.err)
			}
			if got != c.want {
				t.Fatalf("got %q (%v), want %q", got, err, c.want)
			}
		})
	}
}
