package client

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestDynamic: any resource's objects through the JSON client — create
// (the namespace filled in), get, list by label, watch, merge patch,
// update with a stale resourceVersion refused, status, delete; unknown
// fields dropped, or refused under fieldValidation=Strict; an object of
// another kind refused.
func TestDynamic(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	c := dial(t, srv, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cms := c.Dynamic(client.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "default")
	type obj struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name, Namespace, ResourceVersion string
			Labels                           map[string]string
		}
		Data map[string]string
	}
	read := func(data []byte, err error) obj {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var o obj
		if err := json.Unmarshal(data, &o); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		return o
	}

	w, err := cms.Watch(ctx, client.ListOptions{LabelSelector: "dyn=yes"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	made := read(cms.Create(ctx, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dyn","labels":{"dyn":"yes"}},"data":{"k":"v"},"bogus":1}`), client.WriteOptions{}))
	if made.Metadata.Namespace != "default" || made.Kind != "ConfigMap" || made.APIVersion != "v1" || made.Data["k"] != "v" || made.Metadata.ResourceVersion == "" {
		t.Errorf("create: got %+v", made)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != client.Added || !strings.Contains(string(ev.Object.GetJson()), `"name":"dyn"`) {
			t.Errorf("watch: got %s %s", ev.Type, ev.Object.GetJson())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch: no event")
	}
	items, rv, err := cms.List(ctx, client.ListOptions{LabelSelector: "dyn=yes"})
	if err != nil || len(items) != 1 || rv == "" {
		t.Fatalf("list: got %d items, rv %q (%v)", len(items), rv, err)
	}
	patched := read(cms.Patch(ctx, "dyn", client.MergePatch, []byte(`{"data":{"k":"w"}}`), client.WriteOptions{}, ""))
	if patched.Data["k"] != "w" {
		t.Errorf("patch: got %+v", patched)
	}
	stale := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dyn","resourceVersion":"` + made.Metadata.ResourceVersion + `"},"data":{"k":"x"}}`)
	if _, err := cms.Update(ctx, stale, client.WriteOptions{}); !client.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: got %v, want Conflict", err)
	}
	got := read(cms.Get(ctx, "dyn"))
	if got.Data["k"] != "w" {
		t.Errorf("get: got %+v", got)
	}
	if _, err := cms.Create(ctx, []byte(`{"metadata":{"name":"strict"},"bogus":1}`), client.WriteOptions{FieldValidation: "Strict"}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("an unknown field under Strict: got %v, want it named", err)
	}
	if _, err := cms.Create(ctx, []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"other"}}`), client.WriteOptions{}); err == nil || !strings.Contains(err.Error(), "does not match the expected kind") {
		t.Errorf("an object of another kind: got %v, want refused", err)
	}
	if _, err := cms.Delete(ctx, "dyn", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "dyn"); !client.IsNotFound(err) {
		t.Errorf("get after delete: got %v, want NotFound", err)
	}
}
