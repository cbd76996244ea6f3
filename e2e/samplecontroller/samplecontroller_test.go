package samplecontroller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

var (
	fooGVR = schema.GroupVersionResource{Group: "samplecontroller.k8s.io", Version: "v1alpha1", Resource: "foos"}
)

// TestSampleController: with its CRD installed from its own manifest and
// a Foo (its example) created, sample-controller makes the Foo's
// Deployment, owned by the Foo; the Deployment's pod runs on a hollow
// node and sample-controller copies its availability into the Foo's
// status; a change of the Foo's replicas reaches the Deployment; deleting
// the Foo garbage-collects the Deployment.
func TestSampleController(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	sc := buildSampleController(t)
	srv := framework.StartAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := srv.RESTConfig()
	cs := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)

	crd := manifest(t, sc, "crd-status-subresource.yaml")
	framework.CreateCRD(ctx, t, dyn, crd)

	framework.StartScheduler(t, srv, "--leader-elect=false")
	framework.StartControllerManager(t, srv, "--leader-elect=false")
	framework.StartHollowKubelets(t, srv, 1)
	framework.Eventually(t, 60*time.Second, "the hollow node is Ready", func() error {
		return nodeReady(ctx, cs, "hollow-0")
	})
	controller := framework.StartBinary(t, "sample-controller", sc.binary, "--kubeconfig", srv.Kubeconfig(), "-v=2")

	foos := dyn.Resource(fooGVR).Namespace("default")
	foo, err := foos.Create(ctx, manifest(t, sc, "example-foo.yaml"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create the example Foo: %v", err)
	}
	const name = "example-foo" // the Foo's and its spec.deploymentName

	framework.Eventually(t, 60*time.Second, "the Foo's Deployment, owned by the Foo", func() error {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			return fmt.Errorf("spec.replicas %v, want 1", d.Spec.Replicas)
		}
		ref := metav1.GetControllerOf(d)
		if ref == nil || ref.APIVersion != "samplecontroller.k8s.io/v1alpha1" || ref.Kind != "Foo" || ref.Name != name || ref.UID != foo.GetUID() {
			return fmt.Errorf("controller reference %+v, want the Foo %s (uid %s)", ref, name, foo.GetUID())
		}
		return nil
	})
	availableReplicas(ctx, t, foos, name, 1)
	framework.Eventually(t, 30*time.Second, "a Synced event for the Foo", func() error {
		return synced(ctx, cs, foo)
	})

	if _, err := foos.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("scale the Foo to 2: %v", err)
	}
	framework.Eventually(t, 60*time.Second, "the Deployment follows the Foo to 2 replicas", func() error {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			return fmt.Errorf("spec.replicas %v, want 2", d.Spec.Replicas)
		}
		return nil
	})
	availableReplicas(ctx, t, foos, name, 2)

	if err := foos.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete the Foo: %v", err)
	}
	framework.Eventually(t, 60*time.Second, "the Foo's Deployment and pods are collected", func() error {
		if _, err := cs.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the Deployment: %v", err)
		}
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "controller=" + name})
		if err != nil {
			return err
		}
		if len(pods.Items) != 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return nil
	})
	if err := controller.Exited(); err != nil {
		t.Fatalf("sample-controller: %v\n%s", err, controller.Logs())
	}
}

// manifest reads one of sample-controller's example manifests.
func manifest(t *testing.T, sc sampleController, name string) *unstructured.Unstructured {
	t.Helper()
	f, err := os.Open(filepath.Join(sc.moduleDir, "artifacts", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	obj := &unstructured.Unstructured{}
	if err := yaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&obj.Object); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return obj
}

func nodeReady(ctx context.Context, cs kubernetes.Interface, name string) error {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return nil
		}
	}
	return fmt.Errorf("conditions %v", n.Status.Conditions)
}

// availableReplicas waits until sample-controller has written want into
// the Foo's status.availableReplicas (copied from its Deployment's status).
func availableReplicas(ctx context.Context, t *testing.T, foos dynamic.ResourceInterface, name string, want int64) {
	t.Helper()
	framework.Eventually(t, 90*time.Second, fmt.Sprintf("the Foo's status.availableReplicas is %d", want), func() error {
		foo, err := foos.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		got, found, err := unstructured.NestedInt64(foo.Object, "status", "availableReplicas")
		if err != nil || !found || got != want {
			return fmt.Errorf("status %v (%v)", foo.Object["status"], err)
		}
		return nil
	})
}

// synced finds the event sample-controller records for a Foo it synced.
func synced(ctx context.Context, cs kubernetes.Interface, foo *unstructured.Unstructured) error {
	events, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var seen []string
	for _, e := range events.Items {
		o := e.InvolvedObject
		if o.Kind == "Foo" && o.Name == foo.GetName() && o.UID == foo.GetUID() && e.Reason == "Synced" && e.Type == corev1.EventTypeNormal {
			return nil
		}
		seen = append(seen, fmt.Sprintf("%s %s/%s %s", e.Reason, o.Kind, o.Name, e.Message))
	}
	return fmt.Errorf("events: %v", seen)
}
