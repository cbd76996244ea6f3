package controllermanager

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

var (
	gadgetGVR = schema.GroupVersionResource{Group: "e2e.skiff.dev", Version: "v1", Resource: "gadgets"}
)

// gadgetCRD is a namespaced CRD whose objects keep any spec.
const gadgetCRD = `{
  "apiVersion": "apiextensions.k8s.io/v1",
  "kind": "CustomResourceDefinition",
  "metadata": {"name": "gadgets.e2e.skiff.dev"},
  "spec": {
    "group": "e2e.skiff.dev",
    "scope": "Namespaced",
    "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
  }
}`

// crdEnv is an apiserver and a controller-manager with every controller,
// the Gadget CRD created after the controller-manager started: the
// garbage collector finds it at its first discovery or at a later one
// (every 30 s, as Kubernetes' resyncs its monitors).
type crdEnv struct {
	t   *testing.T
	ctx context.Context
	cs  *kubernetes.Clientset
	dyn *dynamic.DynamicClient
}

func setupCRD(t *testing.T) *crdEnv {
	t.Helper()
	e := setup(t)
	cfg := e.srv.RESTConfig()
	ce := &crdEnv{t: t, ctx: e.ctx, cs: kubernetes.NewForConfigOrDie(cfg), dyn: dynamic.NewForConfigOrDie(cfg)}
	var crd unstructured.Unstructured
	if err := json.Unmarshal([]byte(gadgetCRD), &crd.Object); err != nil {
		t.Fatal(err)
	}
	framework.CreateCRD(ce.ctx, t, ce.dyn, &crd)
	return ce
}

// create makes a Gadget with owner references and finalizers.
func (e *crdEnv) create(ns, name string, owners []metav1.OwnerReference, finalizers ...string) *unstructured.Unstructured {
	e.t.Helper()
	g := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "e2e.skiff.dev/v1", "kind": "Gadget", "spec": map[string]any{"n": int64(1)}}}
	g.SetName(name)
	g.SetOwnerReferences(owners)
	g.SetFinalizers(finalizers)
	got, err := e.dyn.Resource(gadgetGVR).Namespace(ns).Create(e.ctx, g, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create gadget %s/%s: %v", ns, name, err)
	}
	return got
}

// gone waits until the Gadget is not found.
func (e *crdEnv) gone(ns, name string, within time.Duration) {
	e.t.Helper()
	framework.Eventually(e.t, within, fmt.Sprintf("gadget %s/%s is deleted", ns, name), func() error {
		g, err := e.dyn.Resource(gadgetGVR).Namespace(ns).Get(e.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there: deletionTimestamp %v, finalizers %v", g.GetDeletionTimestamp(), g.GetFinalizers())
	})
}

// exists fails the test unless the Gadget is there and not being deleted.
func (e *crdEnv) exists(ns, name string) {
	e.t.Helper()
	g, err := e.dyn.Resource(gadgetGVR).Namespace(ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("gadget %s/%s: got %v, want it kept", ns, name, err)
	}
	if g.GetDeletionTimestamp() != nil {
		e.t.Fatalf("gadget %s/%s is being deleted, want it kept", ns, name)
	}
}

func ownerRef(apiVersion, kind, name string, uid types.UID, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, BlockOwnerDeletion: &block}
}

// TestCustomObjectsAreCollectedWithTheirOwners: the garbage collector
// follows a CRD's objects: a Gadget owned by a Deployment goes
// with the Deployment, one owned by another Gadget goes with it, a
// foreground deletion of a Gadget waits for its dependent Gadget, and a
// Gadget without owners stays.
func TestCustomObjectsAreCollectedWithTheirOwners(t *testing.T) {
	e := setupCRD(t)
	zero := int32(0)
	labels := map[string]string{"app": "owner"}
	dep, err := e.cs.AppsV1().Deployments("default").Create(e.ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "owner"},
		Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.local/app:1"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.create("default", "of-deployment", []metav1.OwnerReference{ownerRef("apps/v1", "Deployment", "owner", dep.UID, false)})
	parent := e.create("default", "parent", nil)
	e.create("default", "of-gadget", []metav1.OwnerReference{ownerRef("e2e.skiff.dev/v1", "Gadget", "parent", parent.GetUID(), false)})
	fg := e.create("default", "fg-parent", nil)
	// The test's own finalizer holds the dependent, so the foreground
	// deletion of its owner can be seen waiting.
	e.create("default", "fg-child", []metav1.OwnerReference{ownerRef("e2e.skiff.dev/v1", "Gadget", "fg-parent", fg.GetUID(), true)}, "e2e.skiff.dev/hold")
	e.create("default", "no-owner", nil)

	if err := e.cs.AppsV1().Deployments("default").Delete(e.ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.dyn.Resource(gadgetGVR).Namespace("default").Delete(e.ctx, "parent", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	foreground := metav1.DeletePropagationForeground
	if err := e.dyn.Resource(gadgetGVR).Namespace("default").Delete(e.ctx, "fg-parent", metav1.DeleteOptions{PropagationPolicy: &foreground}); err != nil {
		t.Fatal(err)
	}

	// Within the collector's rediscovery period and a margin.
	e.gone("default", "of-deployment", 90*time.Second)
	e.gone("default", "of-gadget", 30*time.Second)
	framework.Eventually(t, 30*time.Second, "fg-child is being deleted while fg-parent waits for it", func() error {
		child, err := e.dyn.Resource(gadgetGVR).Namespace("default").Get(e.ctx, "fg-child", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if child.GetDeletionTimestamp() == nil {
			return fmt.Errorf("fg-child is not being deleted")
		}
		return nil
	})
	owner, err := e.dyn.Resource(gadgetGVR).Namespace("default").Get(e.ctx, "fg-parent", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("fg-parent while its dependent is held: got %v, want it waiting", err)
	}
	if !slices.Contains(owner.GetFinalizers(), metav1.FinalizerDeleteDependents) {
		t.Fatalf("fg-parent while its dependent is held: finalizers %v, want %s", owner.GetFinalizers(), metav1.FinalizerDeleteDependents)
	}
	if _, err := e.dyn.Resource(gadgetGVR).Namespace("default").Patch(e.ctx, "fg-child", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("release fg-child: %v", err)
	}
	e.gone("default", "fg-child", 30*time.Second)
	e.gone("default", "fg-parent", 30*time.Second)
	e.exists("default", "no-owner")
}

// TestDeletingANamespaceDeletesItsCustomObjects: the namespace controller
// deletes the custom objects of a Terminating namespace, waits for one a
// finalizer holds, and then removes the namespace; the same object in
// another namespace stays.
func TestDeletingANamespaceDeletesItsCustomObjects(t *testing.T) {
	e := setupCRD(t)
	for _, ns := range []string{"doomed", "kept"} {
		if _, err := e.cs.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		e.create("doomed", fmt.Sprintf("g%d", i), nil)
	}
	e.create("doomed", "held", nil, "e2e.skiff.dev/hold")
	e.create("kept", "g0", nil)

	if err := e.cs.CoreV1().Namespaces().Delete(e.ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.gone("doomed", fmt.Sprintf("g%d", i), 30*time.Second)
	}
	framework.Eventually(t, 30*time.Second, "held is being deleted", func() error {
		g, err := e.dyn.Resource(gadgetGVR).Namespace("doomed").Get(e.ctx, "held", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if g.GetDeletionTimestamp() == nil {
			return fmt.Errorf("held is not being deleted")
		}
		return nil
	})
	ns, err := e.cs.CoreV1().Namespaces().Get(e.ctx, "doomed", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("doomed while held is there: got %v (%v), want it Terminating", ns.Status.Phase, err)
	}
	if _, err := e.dyn.Resource(gadgetGVR).Namespace("doomed").Patch(e.ctx, "held", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("release held: %v", err)
	}
	framework.Eventually(t, 30*time.Second, "the namespace doomed is gone", func() error {
		if _, err := e.cs.CoreV1().Namespaces().Get(e.ctx, "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace doomed: %v", err)
		}
		return nil
	})
	list, err := e.dyn.Resource(gadgetGVR).Namespace("doomed").List(e.ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("gadgets in the deleted namespace: got %v (%v), want none", list, err)
	}
	e.exists("kept", "g0")
}
