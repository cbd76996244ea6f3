package apiserver

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	skiff "skiff.dev/pkg/client"
)

// BenchmarkListConfigMapsPaged lists 100,000 ConfigMaps of one namespace
// through the gRPC API in pages of 500, as informers do, and reports the
// time of the whole list and the apiserver's peak RSS during it (its peak
// is reset after the creates). Run with -benchtime=1x.
func BenchmarkListConfigMapsPaged(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	const n = 100_000
	srv := framework.StartAPIServer(b)
	c := srv.Client()
	ctx := context.Background()
	createConfigMaps(ctx, b, c, n)
	pid := srv.Pid()
	before, _ := framework.PeakRSS(pid)
	if err := framework.ResetPeakRSS(pid); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		got, pages := 0, 0
		opts := skiff.ListOptions{Limit: skiff.ListPageSize}
		for {
			list, err := c.CoreV1().ConfigMaps("default").List(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			got += len(list.GetItems())
			pages++
			if opts.Continue = list.GetMetadata().GetContinue(); opts.Continue == "" {
				break
			}
		}
		if got != n {
			b.Fatalf("listed %d ConfigMaps in %d pages, want %d", got, pages, n)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-list")
		b.ReportMetric(float64(pages), "pages")
	}
	b.StopTimer()
	peak, err := framework.PeakRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(peak)/(1<<20), "apiserver-peak-MiB")
	b.ReportMetric(float64(before)/(1<<20), "apiserver-peak-creating-MiB")
}

// createConfigMaps creates n small ConfigMaps in default, 16 at a time.
func createConfigMaps(ctx context.Context, b *testing.B, c *skiff.Client, n int) {
	b.Helper()
	next := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cm := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("cm-%06d", i)},
					Data: map[string]string{"key": fmt.Sprintf("value-%06d", i)}}
				if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, cm, skiff.WriteOptions{}); err != nil {
					errs <- fmt.Errorf("create ConfigMap %d: %w", i, err)
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			b.Fatal(err)
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}
