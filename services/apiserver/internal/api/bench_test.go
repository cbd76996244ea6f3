package api

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/registry"
)

// The benchmarks run the registry over embedded etcd, as the apiserver
// does, without HTTP: they measure storage, the watch cache and the
// Kubernetes semantics on top. docs/performance.md records the results.

func newBenchAPI(b *testing.B) *API {
	b.Helper()
	return newBenchAPIWith(b, Config{})
}

// newBenchAPIWith is newBenchAPI with the options of cfg that it sets.
func newBenchAPIWith(b *testing.B, cfg Config) *API {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	cfg.Etcd, cfg.WatchCacheSize, cfg.DisableAdmissionPlugins = e.Client(), 2000, []string{"ServiceAccount"}
	a, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); _ = e.Close() })
	return a
}

func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "bench", "tier": "web"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{
			Name: "web", Image: "nginx:1.27",
			Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
			Env:   []*corev1.EnvVar{{Name: "MODE", Value: "bench"}},
			Resources: &corev1.ResourceRequirements{
				Requests: map[string]*metav1.Quantity{"cpu": {String_: "100m"}, "memory": {String_: "64Mi"}},
			},
		}}},
	}
}

func createPods(b *testing.B, pods registry.Backend, n int) {
	b.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for i := 0; i < n; i++ {
		g.Go(func() error {
			_, err := pods.Create(context.Background(), benchPod(fmt.Sprintf("pod-%d", i)), registry.CreateOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCreatePod(b *testing.B) {
	pods := newBenchAPI(b).Backend("", "pods")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pods.Create(ctx, benchPod(fmt.Sprintf("p-%d", i)), registry.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreatePodParallel(b *testing.B) {
	pods := newBenchAPI(b).Backend("", "pods")
	ctx := context.Background()
	var mu sync.Mutex
	next := 0
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			next++
			name := fmt.Sprintf("p-%d", next)
			mu.Unlock()
			if _, err := pods.Create(ctx, benchPod(name), registry.CreateOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGetPod(b *testing.B) {
	pods := newBenchAPI(b).Backend("", "pods")
	ctx := context.Background()
	createPods(b, pods, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pods.Get(ctx, "default", "pod-0", registry.GetOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListPods(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			pods := newBenchAPI(b).Backend("", "pods")
			ctx := context.Background()
			createPods(b, pods, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				list, err := pods.List(ctx, "default", registry.ListOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if got := len(list.(*corev1.PodList).GetItems()); got != n {
					b.Fatalf("listed %d pods, want %d", got, n)
				}
			}
		})
	}
}

// BenchmarkWatchFanOut: one write, seen by 1,000 watchers of the same
// resource (one etcd watch behind them all); an op is the write plus its
// delivery to every watcher.
func BenchmarkWatchFanOut(b *testing.B) {
	const watchers = 1000
	a := newBenchAPI(b)
	cms := a.Backend("", "configmaps")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cm, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "fan", Namespace: "default"},
		Data: map[string]string{"n": "0"}}, registry.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	received := make(chan struct{}, watchers)
	for i := 0; i < watchers; i++ {
		w, err := cms.Watch(ctx, "default", registry.ListOptions{ResourceVersion: cm.(*corev1.ConfigMap).GetMetadata().GetResourceVersion()})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Stop()
			for ev := range w.ResultChan() {
				if ev.Type == registry.Modified {
					received <- struct{}{}
				}
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	current := cm.(*corev1.ConfigMap)
	for i := 0; i < b.N; i++ {
		next := proto.Clone(current).(*corev1.ConfigMap)
		next.Data["n"] = fmt.Sprint(i + 1)
		out, err := cms.Update(ctx, next, registry.UpdateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		current = out.(*corev1.ConfigMap)
		for j := 0; j < watchers; j++ {
			<-received
		}
	}
	b.StopTimer()
	cancel()
	wg.Wait()
}
