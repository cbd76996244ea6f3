package failover

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
)

// poll is one read of the poller: when it started and ended, and whether
// it failed.
type poll struct {
	start, end time.Time
	failed     bool
}

// poller reads one ConfigMap every pollInterval, each read bounded by
// pollTimeout, and keeps what it saw.
type poller struct {
	mu    sync.Mutex
	polls []poll
}

const (
	pollInterval = 10 * time.Millisecond
	pollTimeout  = 30 * time.Second
)

func (p *poller) run(ctx context.Context, cms *client.Resource[*corev1.ConfigMap, *corev1.ConfigMapList], name string) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		callCtx, cancel := context.WithTimeout(ctx, pollTimeout)
		start := time.Now()
		_, err := cms.Get(callCtx, name)
		cancel()
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		p.polls = append(p.polls, poll{start: start, end: time.Now(), failed: err != nil})
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// since says, of the polls that ended after t, how many failed and when
// the first one that started after t and succeeded ended.
func (p *poller) since(t time.Time) (failed int, back time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, q := range p.polls {
		if q.end.Before(t) {
			continue
		}
		if q.failed {
			failed++
		} else if !q.start.Before(t) && back.IsZero() {
			back = q.end
		}
	}
	return failed, back
}

// BenchmarkAPIServerKill SIGKILLs the apiserver that a client reading
// every 10 ms talks to, b.N times (run it with -benchtime 10x), and
// reports how long the client could not read: from the kill to the end of
// the first successful read begun after it (p50 and max), and the reads
// that failed outright. The killed apiserver is started again before the
// next kill, so three are up each time.
func BenchmarkAPIServerKill(b *testing.B) {
	cl := startCluster(b)
	b.Run("endpoints", func(b *testing.B) { benchmarkKills(b, cl, nil) })
	b.Run("load balancer", func(b *testing.B) { benchmarkKills(b, cl, cl.balancer(b)) })
}

func benchmarkKills(b *testing.B, cl *cluster, lb *balancer) {
	c, _, current := connect(b, cl, lb)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cms := c.CoreV1().ConfigMaps(createNamespace(b, ctx, c, "bench"))
	if _, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "probe"}}, client.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	p := &poller{}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); p.run(pctx, cms, "probe") }()
	defer func() { stop(); <-done }()

	var windows []time.Duration
	failedTotal := 0
	b.ResetTimer()
	for range b.N {
		var addr string
		ready := time.Now()
		framework.Eventually(b, time.Minute, "the client reads", func() error {
			if _, back := p.since(ready); back.IsZero() || current() == "" {
				return fmt.Errorf("no successful read yet")
			}
			addr = current()
			return nil
		})
		victim := cl.serving(addr)
		if victim == nil {
			b.Fatalf("the client talks to %s, none of the apiservers", addr)
		}
		killed := time.Now()
		victim.Kill()
		var window time.Duration
		framework.Eventually(b, time.Minute, "a read succeeds after the kill", func() error {
			failed, back := p.since(killed)
			if back.IsZero() {
				return fmt.Errorf("%d reads failed, none succeeded yet", failed)
			}
			window, failedTotal = back.Sub(killed), failedTotal+failed
			return nil
		})
		windows = append(windows, window)
		b.StopTimer()
		victim.Start()
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(windows)
	b.ReportMetric(float64(windows[len(windows)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(windows[len(windows)-1].Microseconds())/1000, "ms-max")
	b.ReportMetric(float64(failedTotal)/float64(b.N), "failed-reads/kill")
	b.Logf("unavailability over %d kills: %v", b.N, windows)
}
