package client

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// TestKindless: the discovery and metadata services, which the garbage
// collector and the namespace controller use to cover every kind: the
// served resources with their verbs and subresources, and any resource's
// objects listed, watched (also through an informer), patched and deleted
// as their metadata alone.
func TestKindless(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	c := dial(t, srv, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	served, err := c.ServedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	find := func(gvr string) *client.ServedResource {
		for i := range served {
			if served[i].String() == gvr {
				return &served[i]
			}
		}
		return nil
	}
	pods, deploys, reviews := find("v1/pods"), find("apps/v1/deployments"), find("authentication.k8s.io/v1/selfsubjectreviews")
	switch {
	case pods == nil || !pods.Namespaced || pods.Kind != "Pod" || !pods.Has("watch") || !pods.Has("deletecollection") || !slices.Contains(pods.Subresources, "binding"):
		t.Errorf("v1/pods: got %+v", pods)
	case deploys == nil || deploys.APIVersion() != "apps/v1" || !slices.Contains(deploys.Subresources, "scale"):
		t.Errorf("apps/v1/deployments: got %+v", deploys)
	case reviews == nil || !slices.Equal(reviews.Verbs, []string{"create"}):
		t.Errorf("selfsubjectreviews: got %+v, want create only", reviews)
	case find("v1/namespaces") == nil || find("v1/namespaces").Namespaced:
		t.Errorf("v1/namespaces: got %+v, want cluster-scoped", find("v1/namespaces"))
	}

	cms := client.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	inf := informer.New(informer.FromResource(c.Metadata(cms, "")), informer.Options[*metav1.PartialObjectMetadata]{})
	infCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = inf.Start(infCtx) }()
	defer func() { stop(); <-done }()
	if !inf.WaitForSync(ctx) {
		t.Fatal("the metadata informer never synced")
	}

	if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "meta", Labels: map[string]string{"a": "1"}},
		Data: map[string]string{"k": "v"}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the informer sees the ConfigMap's metadata", func() error {
		if _, ok := inf.Store().Get("default/meta"); !ok {
			return context.DeadlineExceeded
		}
		return nil
	})
	md := c.Metadata(cms, "default")
	list, err := md.List(ctx, client.ListOptions{LabelSelector: "a=1"})
	if err != nil || len(list.GetItems()) != 1 || list.GetItems()[0].GetMetadata().GetName() != "meta" || list.GetMetadata().GetResourceVersion() == "" {
		t.Fatalf("list a=1: got %v (%v)", list, err)
	}
	patched, err := md.Patch(ctx, "meta", client.MergePatch, []byte(`{"metadata":{"labels":{"b":"2"}}}`), client.WriteOptions{}, "")
	if err != nil || patched.GetMetadata().GetLabels()["b"] != "2" || patched.GetKind() != "PartialObjectMetadata" {
		t.Fatalf("patch: got %v (%v)", patched, err)
	}
	full, err := c.CoreV1().ConfigMaps("default").Get(ctx, "meta")
	if err != nil || full.GetData()["k"] != "v" || full.GetMetadata().GetLabels()["b"] != "2" {
		t.Errorf("the ConfigMap after a metadata patch: got %v (%v), want its data kept", full, err)
	}
	if _, err := md.Delete(ctx, "meta", &metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the informer sees the deletion", func() error {
		if _, ok := inf.Store().Get("default/meta"); ok {
			return context.DeadlineExceeded
		}
		return nil
	})
	if _, err := c.Metadata(client.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "nothings"}, "").List(ctx, client.ListOptions{}); !client.IsNotFound(err) {
		t.Errorf("list of a resource not served: got %v, want NotFound", err)
	}
	if _, err := md.Create(ctx, &metav1.PartialObjectMetadata{}, client.WriteOptions{}); err == nil {
		t.Error("create through the metadata client: succeeded, want refused")
	}
}
