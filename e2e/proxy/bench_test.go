package proxy

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkNetworkProgramming measures, in each mode, the time from an
// EndpointSlice update being accepted by the apiserver to the new endpoint
// answering through the ClusterIP — the proxy's watch, its sync and the
// kernel update — with 1,000 other Services (two endpoints each) in the
// rules and the default 1 s min sync period, each change arriving alone.
func BenchmarkNetworkProgramming(b *testing.B) {
	for _, mode := range []string{"nftables", "iptables"} {
		b.Run("mode="+mode, func(b *testing.B) { benchProgramming(b, mode) })
	}
}

func benchProgramming(b *testing.B, mode string) {
	c := newCluster(b, mode, "--min-sync-period", "1s")
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range 1000 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("other-%d", i)
			c.service(name, corev1.ServiceTypeClusterIP, nil)
			c.endpoints(name, backendIPs[:2], nil)
		}()
	}
	wg.Wait()
	svc := c.service("target", corev1.ServiceTypeClusterIP, nil)
	to := addr(svc.Spec.ClusterIP, 80)
	c.endpoints("target", backendIPs[:1], nil)
	waitSpread(b, c.client, clientIP, to, backendIPs[:1])

	var latencies []time.Duration
	last := time.Now()
	for i := 0; b.Loop(); i++ {
		want := backendIPs[(i+1)%2]
		b.StopTimer()
		// The change arrives after the rate limit has lapsed.
		for time.Since(last) < 1200*time.Millisecond {
			time.Sleep(10 * time.Millisecond)
		}
		b.StartTimer()
		start := time.Now()
		c.endpoints("target", []string{want}, nil)
		for {
			// A short timeout: a SYN lost while the rules change costs a
			// retry, not a 3 s dial timeout, in the measurement.
			if cn, name, err := connectWithin(c.client, clientIP, to, 100*time.Millisecond); err == nil {
				cn.Close()
				if name == want {
					break
				}
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("%s never answered", want)
			}
		}
		last = time.Now()
		latencies = append(latencies, last.Sub(start))
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 { return latencies[int(p*float64(len(latencies)-1))].Seconds() }
	b.ReportMetric(pct(0.5), "p50-s")
	b.ReportMetric(pct(0.99), "p99-s")
	b.ReportMetric(0, "ns/op")
	if _, metrics, err := c.metrics(); err == nil {
		var keep []string
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, "kubeproxy_") && (strings.Contains(l, "_sum") || strings.Contains(l, "_count") || strings.HasPrefix(l, "kubeproxy_sync_proxy_rules_rules")) {
				keep = append(keep, l)
			}
		}
		b.Logf("proxy metrics:\n%s", strings.Join(keep, "\n"))
	}
}
