package apiserver

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

func TestRestartKeepsObjectsAndWatchesResume(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clients := func() *kubernetes.Clientset {
		cs, err := kubernetes.NewForConfig(srv.RESTConfig())
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	cs := clients()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "keep"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	var firstRV string
	for _, name := range []string{"a", "b", "c"} {
		cm, err := cs.CoreV1().ConfigMaps("keep").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name},
			Data: map[string]string{"name": name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids[name] = string(cm.UID)
		if firstRV == "" {
			firstRV = cm.ResourceVersion
		}
	}

	srv.Stop()
	srv.Start()
	cs = clients()

	for name, uid := range uids {
		cm, err := cs.CoreV1().ConfigMaps("keep").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s after restart: %v", name, err)
		}
		if string(cm.UID) != uid || cm.Data["name"] != name {
			t.Fatalf("%s changed across the restart: uid %s data %v", name, cm.UID, cm.Data)
		}
	}

	// A watch resumed from before the restart gets what happened since, or
	// a 410 that tells the client to list again.
	w, err := cs.CoreV1().ConfigMaps("keep").Watch(ctx, metav1.ListOptions{ResourceVersion: firstRV})
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		t.Log("the resumed watch answered 410")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cs.CoreV1().ConfigMaps("keep").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "d"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch ended after %v", got)
			}
			if ev.Type == watch.Error {
				if st, ok := ev.Object.(*metav1.Status); ok && st.Code == 410 && len(got) == 0 {
					t.Log("the resumed watch answered 410")
					return
				}
				t.Fatalf("watch error after %v: %v", got, ev.Object)
			}
			if ev.Type != watch.Added {
				t.Fatalf("unexpected %s after %v", ev.Type, got)
			}
			got = append(got, ev.Object.(*corev1.ConfigMap).Name)
		case <-ctx.Done():
			t.Fatalf("watch gave only %v", got)
		}
	}
	if got[0] != "b" || got[1] != "c" || got[2] != "d" {
		t.Fatalf("resumed watch gave %v, want [b c d]", got)
	}
}
