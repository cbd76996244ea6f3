package compose

import (
	"strconv"
	"strings"
	"testing"
)

// Each measurement of BenchmarkClusterDNS: dnsQueries queries from
// dnsClients clients in the pod, one query in flight each.
const (
	dnsQueries = 20000
	dnsClients = 8
)

// BenchmarkClusterDNS measures name lookups from inside a pod on the
// compose stack (make up, its own project): queries per second and the
// 50th and 99th percentile latency of
//   - a Service's name (hello.default.svc.cluster.local) asked of the
//     cluster DNS (CoreDNS, answering from its API cache),
//   - a compose service's name (registry) asked of the cluster DNS, which
//     forwards it to the node's resolver and caches the answer,
//   - the same name asked of the node's resolver directly (the node's
//     relay to Docker's resolver), which a Service name cannot be.
//
// Queries lost (unanswered within the client's timeout) are reported as
// lost-queries; an answer with an error code fails the benchmark. Run with
// -benchtime=1x; docs/performance.md has the numbers.
func BenchmarkClusterDNS(b *testing.B) {
	s := up(b)
	s.pushTestImage(b)
	s.mustKubectl(b, manifest, "apply", "-f", "-")
	pod := s.runningPods(b, 2)[0]
	nodeIP := strings.TrimSpace(s.mustKubectl(b, "", "get", "pod", pod, "-o", "jsonpath={.status.hostIP}"))
	// The cluster DNS knows the Service before the measurements start.
	s.answers(b, func() (string, error) {
		return s.kubectl(b, "exec", pod, "--", "nslookup", "hello.default.svc.cluster.local")
	},
		strings.TrimSpace(s.mustKubectl(b, "", "get", "service", "hello", "-o", "jsonpath={.spec.clusterIP}")))
	for _, m := range []struct{ name, server, query string }{
		{"CoreDNS/Service", clusterDNS, "hello.default.svc.cluster.local"},
		{"CoreDNS/forwarded", clusterDNS, "registry"},
		{"NodeResolver/forwarded", nodeIP, "registry"},
	} {
		b.Run(m.name, func(b *testing.B) {
			var r dnsbench
			for range b.N {
				out := s.mustKubectl(b, "", "exec", pod, "--", "dnsbench", m.server, m.query, strconv.Itoa(dnsQueries), strconv.Itoa(dnsClients))
				var err error
				if r, err = parseDNSBench(out); err != nil {
					b.Fatal(err)
				}
				// An error answer is wrong; a lost one is UDP under load,
				// reported with the rate rather than failing the run.
				if r.errors > 0 {
					b.Errorf("%s of %s: got %d error answers of %d queries, want none", m.query, m.server, r.errors, r.queries)
				}
			}
			b.ReportMetric(r.qps, "queries/s")
			b.ReportMetric(float64(r.lost), "lost-queries")
			b.ReportMetric(r.p50, "p50-ms")
			b.ReportMetric(r.p99, "p99-ms")
		})
	}
}
