package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/registry"
)

// TestCustomResourceDefaultsOnRead: a default added to a CRD's schema
// shows in objects stored before it, when they are read, as in
// Kubernetes (a changed CRD gets a new store that reads them anew).
func TestCustomResourceDefaultsOnRead(t *testing.T) {
	a, ctx := newTestAPI(t)
	widgets, _ := installCRD(t, a, "read.example.com")
	if _, err := widgets.Create(ctx, widget("old"), registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crds := a.Backend("apiextensions.k8s.io", "customresourcedefinitions")
	obj, err := crds.Get(ctx, "", "widgets.read.example.com", registry.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crd := proto.Clone(obj).(*apiextensionsv1.CustomResourceDefinition)
	spec := crd.Spec.Versions[0].Schema.OpenApiV3Schema.Properties["spec"]
	spec.Properties["shape"] = &apiextensionsv1.JSONSchemaProps{Type: "string", Default: &apiextensionsv1.JSON{Raw: []byte(`"round"`)}}
	if _, err := crds.Update(ctx, crd, registry.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, _ := a.Catalog.Snapshot().Lookup("read.example.com", "v1", "widgets")
		got, err := e.Backend.Get(ctx, "default", "old", registry.GetOptions{})
		if err == nil && strings.Contains(string(got.(*apiextensionsv1.CustomObject).GetContent().GetRaw()), `"shape":"round"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stored widget read without the new default within 30 s: %v %v", got, err)
		}
		time.Sleep(10 * time.Millisecond) // polling the catalog
	}
}

// TestCustomResourcesServedByEveryAPIServer: apiservers sharing etcd
// each serve a CRD created through one of them, and see each other's
// objects.
func TestCustomResourcesServedByEveryAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs embedded etcd")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = e.Close() })
	var servers []*API
	for range 2 {
		a, err := New(Config{Etcd: e.Client(), WatchCacheSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		servers = append(servers, a)
	}
	first, _ := installCRD(t, servers[0], "shared.example.com")
	if _, err := first.Create(ctx, widget("made-by-first"), registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if e, ok := servers[1].Catalog.Snapshot().Lookup("shared.example.com", "v1", "widgets"); ok {
			if _, err := e.Backend.Get(ctx, "default", "made-by-first", registry.GetOptions{}); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the second apiserver does not serve the first one's widget within 30 s")
		}
		time.Sleep(10 * time.Millisecond) // polling the catalog
	}
}
