package clientgo

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"skiff.dev/e2e/framework"
)

// typedClient is what every typed client of client-go offers for one
// resource (T its object, L its list).
type typedClient[T, L runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	DeleteCollection(ctx context.Context, opts metav1.DeleteOptions, listOpts metav1.ListOptions) error
}

// clientsets runs f with a clientset speaking JSON and one speaking
// Kubernetes protobuf, as kubectl and the conformance suite do.
func clientsets(t *testing.T, f func(t *testing.T, cs *kubernetes.Clientset)) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts) // no controller-manager
	for _, contentType := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		t.Run(contentType, func(t *testing.T) {
			cfg := srv.RESTConfig()
			cfg.ContentType = contentType
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			f(t, cs)
		})
	}
}

// lifecycle runs the API operations the conformance suite checks of a
// kind: create (twice: AlreadyExists), watch, get, list by label, merge
// and strategic merge patch, update, delete and deletecollection. fresh
// returns a new valid object of that name, labelled by the caller's
// label; the objects are named prefix-a, -b and -c.
func lifecycle[T, L runtime.Object](ctx context.Context, t *testing.T, c typedClient[T, L], label, prefix string, fresh func(name string) T) {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: label}
	a, err := c.Create(ctx, fresh(prefix+"-a"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := c.Create(ctx, fresh(prefix+"-a"), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("create again: got %v, want AlreadyExists", err)
	}
	if _, err := c.Create(ctx, fresh(prefix+"-b"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create b: %v", err)
	}
	w, err := c.Watch(ctx, sel)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	if _, err := c.Create(ctx, fresh(prefix+"-c"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create c: %v", err)
	}
	aMeta := accessor(t, a)
	got, err := c.Get(ctx, aMeta.GetName(), metav1.GetOptions{})
	if err != nil || accessor(t, got).GetUID() != aMeta.GetUID() {
		t.Fatalf("get: got %v (%v), want uid %s", got, err, aMeta.GetUID())
	}
	if n := count(t, c, ctx, sel); n != 3 {
		t.Fatalf("list %s: got %d items, want 3", label, n)
	}

	patched, err := c.Patch(ctx, aMeta.GetName(), types.MergePatchType, []byte(`{"metadata":{"annotations":{"patched":"true"}}}`), metav1.PatchOptions{})
	if err != nil || accessor(t, patched).GetAnnotations()["patched"] != "true" {
		t.Fatalf("merge patch: got %v (%v), want annotation patched=true", patched, err)
	}
	patched, err = c.Patch(ctx, aMeta.GetName(), types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"strategic":"patched"}}}`), metav1.PatchOptions{})
	if err != nil || accessor(t, patched).GetLabels()["strategic"] != "patched" {
		t.Fatalf("strategic merge patch: got %v (%v), want label strategic=patched", patched, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := c.Get(ctx, aMeta.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		m := accessor(t, cur)
		ann := m.GetAnnotations()
		ann["updated"] = "true"
		m.SetAnnotations(ann)
		updated, err := c.Update(ctx, cur, metav1.UpdateOptions{})
		if err == nil && accessor(t, updated).GetAnnotations()["updated"] != "true" {
			return fmt.Errorf("the update answered annotations %v, want updated=true", accessor(t, updated).GetAnnotations())
		}
		return err
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	sawAdded, sawPatched, sawUpdated := false, false, false
	for !sawAdded || !sawPatched || !sawUpdated {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch closed")
			}
			if _, ok := ev.Object.(T); !ok {
				t.Fatalf("watch event %s carries %T", ev.Type, ev.Object)
			}
			m := accessor(t, ev.Object)
			switch {
			case ev.Type == watch.Added && m.GetName() == prefix+"-c":
				sawAdded = true
			case ev.Type == watch.Modified && m.GetAnnotations()["updated"] == "true":
				sawUpdated = true
			case ev.Type == watch.Modified && m.GetAnnotations()["patched"] == "true":
				sawPatched = true
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("watch: saw added %v, patched %v, updated %v; want all", sawAdded, sawPatched, sawUpdated)
		}
	}

	if err := c.Delete(ctx, aMeta.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Get(ctx, aMeta.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: got %v, want NotFound", err)
	}
	if n := count(t, c, ctx, sel); n != 2 {
		t.Errorf("list after delete: got %d items, want 2", n)
	}
	if err := c.DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		t.Fatalf("deletecollection: %v", err)
	}
	if n := count(t, c, ctx, sel); n != 0 {
		t.Errorf("list after deletecollection: got %d items, want 0", n)
	}
}

func accessor(t *testing.T, obj runtime.Object) metav1.Object {
	t.Helper()
	m, err := meta.Accessor(obj)
	if err != nil {
		t.Fatalf("metadata of %T: %v", obj, err)
	}
	return m
}

func count[T, L runtime.Object](t *testing.T, c typedClient[T, L], ctx context.Context, opts metav1.ListOptions) int {
	t.Helper()
	list, err := c.List(ctx, opts)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return meta.LenList(list)
}
