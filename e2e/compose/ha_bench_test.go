package compose

import "testing"

// BenchmarkHAWriteThroughput compares the HA profile's write throughput
// with the single stack's, in one run on one machine: ConfigMap creates
// acknowledged per second from 8 clients (measureWrites), first through
// the HA profile's load balancer, then, with that stack down, against
// the single apiserver. Each stack comes up once, whatever b.N is.
func BenchmarkHAWriteThroughput(b *testing.B) {
	ha := upWith(b, haEnv, "HA=1")
	haRate := measureWrites(b, ha, "ha-throughput")
	ha.down()
	single := up(b)
	singleRate := measureWrites(b, single, "throughput")
	b.ReportMetric(haRate, "ha-creates/s")
	b.ReportMetric(singleRate, "single-creates/s")
	b.ReportMetric(0, "ns/op")
}
