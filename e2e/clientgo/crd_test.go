package clientgo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/e2e/framework"
)

var (
	widgetGVR = schema.GroupVersionResource{Group: "e2e.skiff.dev", Version: "v1", Resource: "widgets"}
)

// widgetCRD is a namespaced CRD with the status subresource.
const widgetCRD = `{
  "apiVersion": "apiextensions.k8s.io/v1",
  "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.e2e.skiff.dev"},
  "spec": {
    "group": "e2e.skiff.dev",
    "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
    "versions": [{
      "name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {
        "type": "object",
        "properties": {
          "spec": {"type": "object", "properties": {"size": {"type": "integer"}, "colour": {"type": "string"}}},
          "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
        }
      }}
    }]
  }
}`

// TestDynamicClientOnCustomResources: client-go's dynamic client creates a
// CRD from unstructured JSON, then reads and writes its objects with every
// verb, and a dynamic shared informer sees each change.
func TestDynamicClientOnCustomResources(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := srv.RESTConfig()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	createCRD(ctx, t, dyn, widgetCRD)
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "discovery lists widgets and widgets/status", func() error {
		return listsResources(disc, "e2e.skiff.dev/v1", "widgets", "widgets/status")
	})

	widgets := dyn.Resource(widgetGVR).Namespace("default")
	seen, stopInformer := watchWidgets(ctx, t, dyn)
	defer stopInformer()

	w1, err := widgets.Create(ctx, widget("w1", nil, map[string]any{"size": int64(1)}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create w1: %v", err)
	}
	if w1.GetUID() == "" || w1.GetResourceVersion() == "" || w1.GetGeneration() != 1 || w1.GetKind() != "Widget" || w1.GetAPIVersion() != "e2e.skiff.dev/v1" {
		t.Fatalf("created w1: got %s/%s uid %q rv %q generation %d, want Widget e2e.skiff.dev/v1 with server fields at generation 1",
			w1.GetAPIVersion(), w1.GetKind(), w1.GetUID(), w1.GetResourceVersion(), w1.GetGeneration())
	}
	if _, err := widgets.Create(ctx, widget("w2", map[string]string{"tier": "back"}, map[string]any{"size": int64(5)}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create w2: %v", err)
	}

	got, err := widgets.Get(ctx, "w1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if size, _, _ := unstructured.NestedInt64(got.Object, "spec", "size"); size != 1 || got.GetUID() != w1.GetUID() {
		t.Fatalf("get w1: got size %d uid %s, want 1 and %s", size, got.GetUID(), w1.GetUID())
	}

	list, err := widgets.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.GetKind() != "WidgetList" || list.GetResourceVersion() == "" {
		t.Fatalf("list: got %d items of kind %q at rv %q, want 2 in a WidgetList with a resourceVersion", len(list.Items), list.GetKind(), list.GetResourceVersion())
	}
	list, err = widgets.List(ctx, metav1.ListOptions{LabelSelector: "tier=back"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].GetName() != "w2" {
		t.Fatalf("list tier=back: got %d items, want w2 alone", len(list.Items))
	}

	// Update changes spec and bumps generation; the status it carries is
	// ignored, as the resource has the status subresource.
	if err := unstructured.SetNestedField(got.Object, int64(2), "spec", "size"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(got.Object, true, "status", "ready"); err != nil {
		t.Fatal(err)
	}
	updated, err := widgets.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update w1: %v", err)
	}
	if _, found, _ := unstructured.NestedBool(updated.Object, "status", "ready"); found || updated.GetGeneration() != 2 {
		t.Fatalf("update w1: got status %v at generation %d, want no status at generation 2", updated.Object["status"], updated.GetGeneration())
	}
	if _, err := widgets.Update(ctx, w1, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("update from a stale copy: got %v, want a conflict", err)
	}

	// UpdateStatus changes status alone: the spec it carries is ignored
	// and generation stays.
	if err := unstructured.SetNestedField(updated.Object, true, "status", "ready"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(updated.Object, int64(99), "spec", "size"); err != nil {
		t.Fatal(err)
	}
	status, err := widgets.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update the status of w1: %v", err)
	}
	ready, _, _ := unstructured.NestedBool(status.Object, "status", "ready")
	size, _, _ := unstructured.NestedInt64(status.Object, "spec", "size")
	if !ready || size != 2 || status.GetGeneration() != 2 {
		t.Fatalf("update the status of w1: got ready %v size %d generation %d, want true, 2 and 2", ready, size, status.GetGeneration())
	}

	patched, err := widgets.Patch(ctx, "w1", types.MergePatchType, []byte(`{"spec":{"colour":"blue"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("merge patch w1: %v", err)
	}
	colour, _, _ := unstructured.NestedString(patched.Object, "spec", "colour")
	size, _, _ = unstructured.NestedInt64(patched.Object, "spec", "size")
	ready, _, _ = unstructured.NestedBool(patched.Object, "status", "ready")
	if colour != "blue" || size != 2 || !ready || patched.GetGeneration() != 3 {
		t.Fatalf("merge patch w1: got colour %q size %d ready %v generation %d, want blue, 2, true and 3", colour, size, ready, patched.GetGeneration())
	}

	if err := widgets.Delete(ctx, "w2", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete w2: %v", err)
	}
	if _, err := widgets.Get(ctx, "w2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get w2 after its delete: got %v, want NotFound", err)
	}

	framework.Eventually(t, 30*time.Second, "the dynamic informer sees every change", func() error {
		return seen.check(map[string]string{
			"w1": "[add update update update]", // update, status, patch
			"w2": "[add delete]",
		}, "blue")
	})
}

// createCRD creates a CRD from JSON and waits until it is Established.
func createCRD(ctx context.Context, t *testing.T, dyn dynamic.Interface, crdJSON string) {
	t.Helper()
	var crd unstructured.Unstructured
	if err := json.Unmarshal([]byte(crdJSON), &crd.Object); err != nil {
		t.Fatal(err)
	}
	framework.CreateCRD(ctx, t, dyn, &crd)
}

// listsResources is whether discovery lists every named resource of a
// group version (the poll of discovered).
func listsResources(disc discovery.DiscoveryInterface, groupVersion string, names ...string) error {
	rl, err := disc.ServerResourcesForGroupVersion(groupVersion)
	if err != nil {
		return err
	}
	var have []string
	for _, r := range rl.APIResources {
		have = append(have, r.Name)
	}
	for _, n := range names {
		if !slices.Contains(have, n) {
			return fmt.Errorf("%s lists %v, not %s", groupVersion, have, n)
		}
	}
	return nil
}

func widget(name string, labels map[string]string, spec map[string]any) *unstructured.Unstructured {
	w := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "e2e.skiff.dev/v1",
		"kind":       "Widget",
		"spec":       spec,
	}}
	w.SetName(name)
	w.SetLabels(labels)
	return w
}

// widgetEvents records what a dynamic informer told its handlers, by
// object name, and keeps the informer's store.
type widgetEvents struct {
	mu     sync.Mutex
	events map[string][]string
	store  cache.Store
}

// watchWidgets starts a dynamic shared informer on the default
// namespace's widgets and waits for its cache; stop ends it.
func watchWidgets(ctx context.Context, t *testing.T, dyn dynamic.Interface) (seen *widgetEvents, stop func()) {
	t.Helper()
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, "default", nil)
	informer := factory.ForResource(widgetGVR).Informer()
	seen = &widgetEvents{events: map[string][]string{}, store: informer.GetStore()}
	note := func(kind string, obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		u := obj.(*unstructured.Unstructured)
		seen.mu.Lock()
		seen.events[u.GetName()] = append(seen.events[u.GetName()], kind)
		seen.mu.Unlock()
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { note("add", obj) },
		UpdateFunc: func(_, obj any) { note("update", obj) },
		DeleteFunc: func(obj any) { note("delete", obj) },
	}); err != nil {
		t.Fatal(err)
	}
	informerCtx, cancel := context.WithCancel(ctx)
	factory.Start(informerCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		cancel()
		factory.Shutdown()
		t.Fatal("the dynamic informer never synced")
	}
	return seen, func() { cancel(); factory.Shutdown() }
}

// check compares the events with want and that the cached w1 has the
// colour.
func (s *widgetEvents) check(want map[string]string, colour string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, events := range want {
		if got := fmt.Sprint(s.events[name]); got != events {
			return fmt.Errorf("%s: got events %s, want %s", name, got, events)
		}
	}
	obj, ok, err := s.store.GetByKey("default/w1")
	if err != nil || !ok {
		return fmt.Errorf("w1 is not in the informer's cache (%v)", err)
	}
	if got, _, _ := unstructured.NestedString(obj.(*unstructured.Unstructured).Object, "spec", "colour"); got != colour {
		return fmt.Errorf("cached w1: got colour %q, want %q", got, colour)
	}
	return nil
}

// TestCustomResourceServedOnceEstablished: a client that sees a CRD
// Established can create its objects at once, as on Kubernetes; the
// apiserver serves a definition before it writes the condition, even while
// the new store's cache is still reading its history. Several definitions,
// each created and used straight away.
func TestCustomResourceServedOnceEstablished(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dyn, err := dynamic.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		plural := fmt.Sprintf("things%d", i)
		crd := fmt.Sprintf(`{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "%[1]s.e2e.skiff.dev"},
  "spec": {"group": "e2e.skiff.dev", "scope": "Namespaced",
    "names": {"plural": "%[1]s", "singular": "thing%[2]d", "kind": "Thing%[2]d", "listKind": "Thing%[2]dList"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}`, plural, i)
		createCRD(ctx, t, dyn, crd)
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "e2e.skiff.dev/v1", "kind": fmt.Sprintf("Thing%d", i), "metadata": map[string]any{"name": "first"}}}
		gvr := schema.GroupVersionResource{Group: "e2e.skiff.dev", Version: "v1", Resource: plural}
		if _, err := dyn.Resource(gvr).Namespace("default").Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create a %s right after its CRD is Established: %v", plural, err)
		}
	}
}
