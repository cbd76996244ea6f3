package kubelet

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// benchPods is how many pods one iteration starts, one every benchSpacing
// (Kubernetes' pod start-up SLO is measured at a steady creation rate, not
// a burst).
const (
	benchPods    = 40
	benchSpacing = 200 * time.Millisecond
)

// BenchmarkPodStartup measures pod start-up latency on one real node: from
// the create call to the watch event that shows the pod Running, with the
// image already present, through the scheduler and the kubelet on
// containerd. Reports p50 and p99 in milliseconds. Run with -benchtime=1x.
func BenchmarkPodStartup(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	for range b.N {
		b.StopTimer()
		lat := startupLatencies(b)
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
	}
}

func startupLatencies(b *testing.B) []time.Duration {
	ctd := framework.StartContainerd(b)
	srv := framework.StartAPIServer(b, framework.NoServiceAccounts) // no controller-manager
	framework.StartScheduler(b, srv)
	framework.StartKubelet(b, srv, ctd, "node-a", "--log-level", "warn", "--cluster-dns", "10.96.0.10") // no MissingClusterDNS events per pod
	c := srv.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	framework.Eventually(b, 30*time.Second, "node ready", func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, "node-a")
		if err != nil {
			return err
		}
		for _, cond := range n.GetStatus().GetConditions() {
			if cond.GetType() == "Ready" && cond.GetStatus() == "True" {
				return nil
			}
		}
		return fmt.Errorf("not ready")
	})
	w, err := c.CoreV1().Pods("default").Watch(ctx, client.ListOptions{})
	if err != nil {
		b.Fatalf("watch pods: %v", err)
	}
	defer w.Stop()
	created := make([]time.Time, benchPods)
	type event struct {
		name string
		at   time.Time
	}
	running := make(chan event, benchPods)
	go func() {
		seen := map[string]bool{}
		for ev := range w.ResultChan() {
			p := ev.Object
			if name := p.GetMetadata().GetName(); p.GetStatus().GetPhase() == "Running" && !seen[name] {
				seen[name] = true
				running <- event{name, time.Now()}
			}
		}
	}()
	done := map[string]time.Time{}
	tick := time.NewTicker(benchSpacing)
	defer tick.Stop()
	for i := range benchPods {
		pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("p%03d", i)},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}}}}
		created[i] = time.Now()
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, client.WriteOptions{}); err != nil {
			b.Fatalf("create pod: %v", err)
		}
		<-tick.C // pacing the creations, not waiting for a condition
	drain:
		for {
			select {
			case ev := <-running:
				done[ev.name] = ev.at
			default:
				break drain
			}
		}
	}
	deadline := time.After(5 * time.Minute)
	for len(done) < benchPods {
		select {
		case ev := <-running:
			done[ev.name] = ev.at
		case <-deadline:
			b.Fatalf("%d of %d pods running after 5 minutes", len(done), benchPods)
		}
	}
	lat := make([]time.Duration, benchPods)
	for i := range benchPods {
		lat[i] = done[fmt.Sprintf("p%03d", i)].Sub(created[i])
	}
	return lat
}
