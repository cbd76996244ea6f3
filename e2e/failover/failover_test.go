package failover

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// writer creates ConfigMaps one after another and keeps the names of
// those the apiserver acknowledged.
type writer struct {
	mu     sync.Mutex
	acked  []string
	failed int
	after  int // acknowledged since markKill
	killed bool
}

func (w *writer) run(ctx context.Context, cms *client.Resource[*corev1.ConfigMap, *corev1.ConfigMapList]) {
	for n := 0; ctx.Err() == nil; n++ {
		name := fmt.Sprintf("cm-%04d", n)
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := cms.Create(callCtx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: name}}, client.WriteOptions{})
		cancel()
		w.mu.Lock()
		switch {
		case err == nil:
			w.acked = append(w.acked, name)
			if w.killed {
				w.after++
			}
		case ctx.Err() == nil:
			w.failed++
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (w *writer) markKill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.killed = true
}

func (w *writer) counts() (acked, afterKill, failed int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked), w.after, w.failed
}

func (w *writer) ackedNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.acked...)
}

// startInformer runs an informer on r until the test ends and waits for
// its first list.
func startInformer[T, L proto.Message](t *testing.T, ctx context.Context, r *client.Resource[T, L]) *informer.Informer[T] {
	t.Helper()
	inf := informer.New[T](informer.FromResource(r), informer.Options[T]{})
	ctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- inf.Start(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	if !inf.WaitForSync(ctx) {
		t.Fatal("the informer never synced")
	}
	return inf
}

// missing is what of want the store lacks.
func missing[T proto.Message](store *informer.Store[T], want []string) []string {
	have := map[string]bool{}
	for _, obj := range store.List() {
		have[informer.Meta(obj).GetName()] = true
	}
	var out []string
	for _, name := range want {
		if !have[name] {
			out = append(out, name)
		}
	}
	return out
}

// TestClientMovesToAnotherAPIServer SIGKILLs the apiserver a client talks
// to while it writes and two informers watch; the client must carry on
// with another apiserver by itself: writes are acknowledged again, the
// informers see the writes made after the kill without listing again,
// and every acknowledged write is there.
func TestClientMovesToAnotherAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	cl := startCluster(t)
	t.Run("endpoints", func(t *testing.T) { killUnderClient(t, cl, nil) })
	t.Run("load balancer", func(t *testing.T) { killUnderClient(t, cl, cl.balancer(t)) })
}

func killUnderClient(t *testing.T, cl *cluster, lb *balancer) {
	c, rec, current := connect(t, cl, lb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := createNamespace(t, ctx, c, "failover")
	cms := c.CoreV1().ConfigMaps(ns)
	cmInformer := startInformer(t, ctx, cms)
	podInformer := startInformer(t, ctx, c.CoreV1().Pods(ns).Resource)
	lists := rec.count("List")

	w := &writer{}
	wctx, stopWriter := context.WithCancel(ctx)
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); w.run(wctx, cms) }()
	defer func() { stopWriter(); <-writerDone }()
	framework.Eventually(t, time.Minute, "writes before the kill", func() error {
		if n, _, _ := w.counts(); n < 5 || current() == "" {
			return fmt.Errorf("%d acknowledged, on %q", n, current())
		}
		return nil
	})
	addr := current()
	victim := cl.serving(addr)
	if victim == nil {
		t.Fatalf("the client talks to %s, none of the apiservers", addr)
	}
	w.markKill()
	victim.Kill()
	t.Logf("killed the apiserver at %s", addr)
	defer victim.Start()

	framework.Eventually(t, time.Minute, "writes acknowledged after the kill", func() error {
		if _, after, _ := w.counts(); after < 5 {
			return fmt.Errorf("%d acknowledged since the kill", after)
		}
		return nil
	})
	if now := current(); now == addr {
		t.Errorf("the client still talks to the killed apiserver %s", now)
	}
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "after-the-kill"},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.example/app:1"}}}}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, client.WriteOptions{}); err != nil {
		t.Fatalf("create a pod after the kill: %v", err)
	}
	stopWriter()
	<-writerDone
	acked := w.ackedNames()
	framework.Eventually(t, time.Minute, "the informers see every acknowledged write", func() error {
		if m := missing(cmInformer.Store(), acked); len(m) > 0 {
			return fmt.Errorf("configmap informer lacks %d: %v", len(m), m)
		}
		if m := missing(podInformer.Store(), []string{"after-the-kill"}); len(m) > 0 {
			return fmt.Errorf("pod informer lacks %v", m)
		}
		return nil
	})
	if got := rec.count("List"); got != lists {
		t.Errorf("the informers listed %d times after the kill; they must resume their watches instead", got-lists)
	}
	n, after, failed := w.counts()
	t.Logf("writes: %d acknowledged (%d after the kill), %d failed; watch starts: %d", n, after, failed, rec.count("Watch"))

	list, err := cms.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, cm := range list.GetItems() {
		stored = append(stored, cm.GetMetadata().GetName())
	}
	sort.Strings(stored)
	for _, name := range acked {
		if i := sort.SearchStrings(stored, name); i == len(stored) || stored[i] != name {
			t.Errorf("acknowledged write %s is lost", name)
		}
	}
}

// TestWatchResumesOnARestartedAPIServer: a client's watches move to an
// apiserver that was restarted after they began, as in a rolling
// upgrade. Its watch cache starts with etcd's recent history, so the
// watches resume there from their last resourceVersion instead of
// getting 410 Expired and listing again.
func TestWatchResumesOnARestartedAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	cl := startCluster(t)
	lb := startBalancer(t, []string{cl.address(0)})
	c, rec, _ := connect(t, cl, lb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns = "default"
	cms := c.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "before"}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	inf := startInformer(t, ctx, cms)
	lists := rec.count("List")

	// A write of another kind moves etcd past the informer's revision;
	// then an apiserver restarts, its watch caches starting after it.
	if _, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{Metadata: &metav1.ObjectMeta{Name: "elsewhere"}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	restarted := cl.servers[1]
	restarted.Kill()
	restarted.Start()
	lb.setBackends([]string{cl.address(1)})
	cl.servers[0].Kill()
	defer cl.servers[0].Start()
	framework.Eventually(t, time.Minute, "a write through the restarted apiserver", func() error {
		_, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "after"}}, client.WriteOptions{})
		if client.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	framework.Eventually(t, time.Minute, "the informer sees the write", func() error {
		if m := missing(inf.Store(), []string{"before", "after"}); len(m) > 0 {
			return fmt.Errorf("lacks %v", m)
		}
		return nil
	})
	if got := rec.count("List"); got != lists {
		t.Errorf("the informer listed %d times on the restarted apiserver; it must resume its watch", got-lists)
	}
}
