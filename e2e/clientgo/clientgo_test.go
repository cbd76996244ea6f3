// Package clientgo checks that Kubernetes' own Go client works against
// Skiff: a typed clientset in JSON and in protobuf, watches, conflict
// retries and a shared informer, and the dynamic client and a dynamic
// shared informer on custom resources.
package clientgo

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"skiff.dev/e2e/framework"
)

func TestClientGo(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	for _, contentType := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		t.Run(contentType, func(t *testing.T) {
			cfg := srv.RESTConfig()
			cfg.ContentType = contentType
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			exercise(t, cs)
		})
	}
}

func exercise(t *testing.T, cs *kubernetes.Clientset) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cg-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms := cs.CoreV1().ConfigMaps(ns.Name)

	// A shared informer started before the writes sees each of them.
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns.Name))
	informer := factory.Core().V1().ConfigMaps().Informer()
	var mu sync.Mutex
	seen := map[string][]string{}
	note := func(kind string, obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		cm := obj.(*corev1.ConfigMap)
		mu.Lock()
		seen[cm.Name] = append(seen[cm.Name], kind)
		mu.Unlock()
	}
	_, err = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { note("add", obj) },
		UpdateFunc: func(_, obj any) { note("update", obj) },
		DeleteFunc: func(obj any) { note("delete", obj) },
	})
	if err != nil {
		t.Fatal(err)
	}
	informerCtx, stopInformer := context.WithCancel(ctx)
	factory.Start(informerCtx.Done())
	defer factory.Shutdown()
	defer stopInformer() // before Shutdown, which waits for the informer to stop
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("informer never synced")
	}

	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "first", Labels: map[string]string{"set": "a"}},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.UID == "" || first.ResourceVersion == "" || first.CreationTimestamp.IsZero() {
		t.Fatalf("created object lacks server fields: %+v", first.ObjectMeta)
	}

	// A watch from the create's resourceVersion sees the next write.
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "second", Labels: map[string]string{"set": "b"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "second" {
			t.Fatalf("watch: got %s %T", ev.Type, ev.Object)
		}
	case <-ctx.Done():
		t.Fatal("watch delivered nothing")
	}

	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "set=a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "first" {
		t.Fatalf("list set=a: %d items", len(list.Items))
	}

	// An update from a stale copy conflicts; RetryOnConflict re-reads and wins.
	stale := first.DeepCopy()
	first.Data["k"] = "v2"
	if _, err := cms.Update(ctx, first, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Data["other"] = "x"
	if _, err := cms.Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: got %v, want a conflict", err)
	}
	attempts := 0
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		attempts++
		cur := stale
		if attempts > 1 {
			if cur, err = cms.Get(ctx, "first", metav1.GetOptions{}); err != nil {
				return err
			}
		}
		cur.Data["other"] = "x"
		_, err := cms.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil || attempts != 2 {
		t.Fatalf("retry on conflict: %v after %d attempts", err, attempts)
	}
	got, err := cms.Get(ctx, "first", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v2" || got.Data["other"] != "x" {
		t.Fatalf("after retry: %v %v", got.Data, err)
	}

	if err := cms.Delete(ctx, "second", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "second", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}

	framework.Eventually(t, 30*time.Second, "the informer sees every change", func() error {
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(seen["first"]) != "[add update update]" || fmt.Sprint(seen["second"]) != "[add delete]" {
			return fmt.Errorf("informer events: %v", seen)
		}
		return nil
	})
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}
