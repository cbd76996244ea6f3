package api

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/registry"
)

// BenchmarkPodWatchersByNode: 1,000 watches of pods, one per node by
// spec.nodeName as kubelets watch, and updates of one pod on node-0; an op
// is the update plus its delivery to node-0's watcher, with the watch
// cache's index and without it (every watcher's selector matched).
func BenchmarkPodWatchersByNode(b *testing.B) {
	for _, index := range []bool{true, false} {
		b.Run(fmt.Sprintf("index=%t", index), func(b *testing.B) { benchPodWatchers(b, index) })
	}
}

func benchPodWatchers(b *testing.B, index bool) {
	const nodes = 1000
	a := newBenchAPIWith(b, Config{NoWatchIndex: !index})
	pods := a.Backend("", "pods")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := benchPod("watched")
	p.Spec.NodeName = proto.String("node-0")
	out, err := pods.Create(ctx, p, registry.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	current := out.(*corev1.Pod)
	var mine registry.Watcher
	for i := range nodes {
		w, err := pods.Watch(ctx, "", registry.ListOptions{FieldSelector: fmt.Sprintf("spec.nodeName=node-%d", i),
			ResourceVersion: current.GetMetadata().GetResourceVersion()})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Stop()
		if i == 0 {
			mine = w
		}
	}
	b.ReportAllocs()
	cpu := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next := proto.Clone(current).(*corev1.Pod)
		next.Metadata.Labels = map[string]string{"n": fmt.Sprint(i)}
		out, err := pods.Update(ctx, next, registry.UpdateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		current = out.(*corev1.Pod)
		if ev := <-mine.ResultChan(); ev.Type != registry.Modified {
			b.Fatalf("node-0's watcher got %s", ev.Type)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time this process has used, in user and system mode.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
