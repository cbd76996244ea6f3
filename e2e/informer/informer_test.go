// Package informer tests pkg/informer against a real apiserver process,
// including an apiserver restart in the middle of a watch.
package informer

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// recorder keeps the events handlers were told, per object name.
type recorder struct {
	mu     sync.Mutex
	events map[string][]string
}

func (r *recorder) note(kind string, cm *corev1.ConfigMap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[cm.GetMetadata().GetName()] = append(r.events[cm.GetMetadata().GetName()], kind)
}

func (r *recorder) expect(want map[string][]string) func() error {
	return func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		for name, events := range want {
			if !slices.Equal(r.events[name], events) {
				return fmt.Errorf("%s: got %v, want %v (all: %v)", name, r.events[name], events, r.events)
			}
		}
		return nil
	}
}

func TestInformerSurvivesAnAPIServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	cfg, err := client.FromKubeconfig(srv.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cms := c.CoreV1().ConfigMaps("default")
	create := func(name string) {
		t.Helper()
		if _, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: name, Labels: map[string]string{"set": "x"}}}, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("before")

	inf := informer.New[*corev1.ConfigMap](informer.FromResource(c.CoreV1().ConfigMaps("")), informer.Options[*corev1.ConfigMap]{
		Indexers: map[string]informer.IndexFunc[*corev1.ConfigMap]{informer.IndexNamespace: informer.NamespaceIndex[*corev1.ConfigMap]},
	})
	rec := &recorder{events: map[string][]string{}}
	inf.AddHandler(informer.Handler[*corev1.ConfigMap]{
		OnAdd:    func(cm *corev1.ConfigMap) { rec.note("add", cm) },
		OnUpdate: func(_, cm *corev1.ConfigMap) { rec.note("update", cm) },
		OnDelete: func(cm *corev1.ConfigMap) { rec.note("delete", cm) },
	})
	infCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- inf.Start(infCtx) }()
	defer func() { stop(); <-done }()
	if !inf.WaitForSync(ctx) {
		t.Fatal("never synced")
	}

	create("during")
	cm, err := cms.Get(ctx, "before")
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{"k": "v"}
	if _, err := cms.Update(ctx, cm, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the informer sees the changes", rec.expect(map[string][]string{
		"before": {"add", "update"}, "during": {"add"},
	}))
	if got := len(inf.Store().ByIndex(informer.IndexNamespace, "default")); got != 2 {
		t.Fatalf("namespace index: %d objects, want 2", got)
	}

	// The apiserver restarts: the watch drops, resuming it answers 410,
	// the informer lists again and reports only what changed.
	srv.Stop()
	srv.Start()
	framework.Eventually(t, 30*time.Second, "the client reconnects and creates", func() error {
		_, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "after", Labels: map[string]string{"set": "x"}}}, client.WriteOptions{})
		return err
	})
	if _, err := cms.Delete(ctx, "during", nil); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the informer catches up after the restart", rec.expect(map[string][]string{
		"before": {"add", "update"}, "during": {"add", "delete"}, "after": {"add"},
	}))
	if _, ok := inf.Store().Get("default/during"); ok {
		t.Fatal("the deleted object is still cached")
	}
	if obj, ok := inf.Store().Get("default/after"); !ok || obj.GetMetadata().GetLabels()["set"] != "x" {
		t.Fatal("the new object is not cached")
	}
}
