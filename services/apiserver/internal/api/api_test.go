package api

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/registry"
)

func newTestAPI(t *testing.T) (*API, context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs embedded etcd")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// No serviceaccount controller makes the default accounts here, so
	// ServiceAccount admission is off, as in Kubernetes' integration tests.
	a, err := New(Config{Etcd: e.Client(), WatchCacheSize: 100, AuthorizationModes: []string{"RBAC"},
		DisableAdmissionPlugins: []string{"ServiceAccount"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = e.Close() })
	return a, ctx
}
func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: &appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "nginx:1.27"}}}}}}
}

func TestGenerationStatusAndDryRun(t *testing.T) {
	a, ctx := newTestAPI(t)
	deps := a.Backend("apps", "deployments")
	if _, err := deps.Create(ctx, deployment("dry"), registry.CreateOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := deps.Get(ctx, "default", "dry", registry.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create was stored: %v", err)
	}
	obj, err := deps.Create(ctx, deployment("web"), registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := obj.(*appsv1.Deployment)
	if d.GetMetadata().GetGeneration() != 1 || d.GetMetadata().GetUid() == "" {
		t.Fatalf("new object: %v", d.GetMetadata())
	}
	// A metadata change keeps the generation; a spec change bumps it.
	d.Metadata.Labels = map[string]string{"x": "y"}
	obj, err = deps.Update(ctx, d, registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d = obj.(*appsv1.Deployment)
	if d.GetMetadata().GetGeneration() != 1 {
		t.Fatalf("label change bumped the generation to %d", d.GetMetadata().GetGeneration())
	}
	d.Spec.Replicas = proto.Int32(5)
	d.Status = &appsv1.DeploymentStatus{Replicas: 99}
	obj, err = deps.Update(ctx, d, registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d = obj.(*appsv1.Deployment)
	if d.GetMetadata().GetGeneration() != 2 || d.GetStatus().GetReplicas() != 0 {
		t.Fatalf("spec update: generation %d, status %v (the main resource must ignore status)", d.GetMetadata().GetGeneration(), d.GetStatus())
	}
	d.Status = &appsv1.DeploymentStatus{Replicas: 3, ObservedGeneration: 2}
	d.Spec.Replicas = proto.Int32(1)
	obj, err = deps.UpdateStatus(ctx, d, registry.UpdateOptions{Subresource: "status"})
	if err != nil {
		t.Fatal(err)
	}
	d = obj.(*appsv1.Deployment)
	if d.GetStatus().GetReplicas() != 3 || d.GetSpec().GetReplicas() != 5 {
		t.Fatalf("status update: status %v, replicas %d (the status subresource must ignore spec)", d.GetStatus(), d.GetSpec().GetReplicas())
	}
}

func TestFinalizersHoldDeletion(t *testing.T) {
	a, ctx := newTestAPI(t)
	cms := a.Backend("", "configmaps")
	_, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{GenerateName: "held-", Namespace: "default",
		Finalizers: []string{"example.com/hold"}}}, registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := cms.List(ctx, "default", registry.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := list.(*corev1.ConfigMapList).GetItems()[0].GetMetadata().GetName()
	if len(name) != len("held-")+5 {
		t.Fatalf("generated name %q", name)
	}
	obj, err := cms.Delete(ctx, "default", name, nil)
	if err != nil {
		t.Fatal(err)
	}
	cm := obj.(*corev1.ConfigMap)
	if cm.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatal("a finalized object was deleted at once")
	}
	cm.Metadata.Finalizers = nil
	if _, err := cms.Update(ctx, cm, registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "default", name, registry.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("removing the last finalizer left the object: %v", err)
	}
}

func TestGracefulPodDeletion(t *testing.T) {
	a, ctx := newTestAPI(t)
	pods := a.Backend("", "pods")
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: &corev1.PodSpec{NodeName: proto.String("node-1"), Containers: []*corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}
	if _, err := pods.Create(ctx, pod, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := pods.Delete(ctx, "default", "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	terminating := obj.(*corev1.Pod)
	meta := terminating.GetMetadata()
	if meta.GetDeletionTimestamp() == nil || meta.GetDeletionGracePeriodSeconds() != 30 {
		t.Fatalf("a running pod was not deleted gracefully: %v", meta)
	}
	// Status writes while its containers stop leave it there.
	terminating.Status = &corev1.PodStatus{Phase: "Running", Message: "stopping"}
	if _, err := pods.UpdateStatus(ctx, terminating, registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "default", "p", registry.GetOptions{}); err != nil {
		t.Fatalf("a status write removed a pod in its grace period: %v", err)
	}
	// The kubelet confirms with a zero grace period.
	if _, err := pods.Delete(ctx, "default", "p", &metav1.DeleteOptions{GracePeriodSeconds: proto.Int64(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "default", "p", registry.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("zero grace period left the pod: %v", err)
	}
}

func TestNamespaceDeletionWaitsForItsFinalizer(t *testing.T) {
	a, ctx := newTestAPI(t)
	nss, cms := a.Backend("", "namespaces"), a.Backend("", "configmaps")
	if _, err := nss.Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "doomed"}}, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: fmt.Sprint("c", i), Namespace: "doomed"}}, registry.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nss.Delete(ctx, "", "doomed", nil); err != nil {
		t.Fatal(err)
	}
	_, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "late", Namespace: "doomed"}}, registry.CreateOptions{})
	if apierrors.ReasonOf(err) != "Forbidden" {
		t.Fatalf("create in a terminating namespace: got %v, want Forbidden", err)
	}
	var se *apierrors.StatusError
	errors.As(err, &se)
	if causes := se.Status.GetDetails().GetCauses(); len(causes) != 1 || causes[0].GetReason() != "NamespaceTerminating" {
		t.Fatalf("create in a terminating namespace: got causes %v, want one NamespaceTerminating", causes)
	}
	// The namespace waits, Terminating, for the namespace controller; play
	// its part: empty it, then remove the kubernetes finalizer.
	got, err := nss.Get(ctx, "", "doomed", registry.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns := got.(*corev1.Namespace)
	if ns.GetStatus().GetPhase() != "Terminating" || ns.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("deleted namespace: phase %q, deletionTimestamp %v", ns.GetStatus().GetPhase(), ns.GetMetadata().GetDeletionTimestamp())
	}
	for i := 0; i < 3; i++ {
		if _, err := cms.Delete(ctx, "doomed", fmt.Sprint("c", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	ns.Spec.Finalizers = nil
	if _, err := a.Backend("", "namespaces").(*registry.Store).Finalize(ctx, ns, registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := nss.Get(ctx, "", "doomed", registry.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("finalized namespace still there (%v)", err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "x", Namespace: "nowhere"}}, registry.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("create in a missing namespace: %v", err)
	}
}
