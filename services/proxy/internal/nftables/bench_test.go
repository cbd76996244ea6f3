//go:build linux && (amd64 || arm64)

package nftables

import (
	"context"
	"fmt"
	"testing"

	"skiff.dev/services/proxy/internal/model"
)

// benchState is n ClusterIP+NodePort Services with two endpoints each;
// shift moves the first Service's second endpoint, as one pod replacing
// another does.
func benchState(n int, shift bool) model.State {
	st := model.State{Endpoints: map[model.ServicePortName][]model.Endpoint{}}
	for i := range n {
		sp := model.ServicePort{
			ServicePortName: model.ServicePortName{Namespace: "bench", Name: fmt.Sprintf("svc-%d", i), PortName: "http", Protocol: model.TCP},
			ClusterIP:       fmt.Sprintf("10.96.%d.%d", i/250, i%250+1),
			Port:            80,
			NodePort:        30000 + i%2700,
		}
		if i >= 2700 {
			sp.NodePort = 0 // the default node-port range holds 2,768
		}
		st.Services = append(st.Services, sp)
		second := fmt.Sprintf("10.245.%d.%d", i/250, i%250+1)
		if shift && i == 0 {
			second = "10.246.0.1"
		}
		st.Endpoints[sp.ServicePortName] = []model.Endpoint{
			{IP: fmt.Sprintf("10.244.%d.%d", i/250, i%250+1), Port: 8080, Ready: true, Serving: true},
			{IP: second, Port: 8080, Ready: true, Serving: true},
		}
	}
	return st
}

// BenchmarkSync measures full syncs into an empty table and incremental
// syncs of one endpoint change, through the real nft in a namespace.
func BenchmarkSync(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		base, shifted := benchState(n, false), benchState(n, true)
		b.Run(fmt.Sprintf("services=%d/full", n), func(b *testing.B) {
			ns := newNetns(b)
			be := ns.backend()
			for b.Loop() {
				ns.sync(be, base, true)
			}
		})
		b.Run(fmt.Sprintf("services=%d/incremental", n), func(b *testing.B) {
			ns := newNetns(b)
			be := ns.backend()
			ns.sync(be, base, true)
			states := []model.State{shifted, base}
			i := 0
			var written int
			for b.Loop() {
				written = ns.sync(be, states[i%2], false).Written
				i++
			}
			b.ReportMetric(float64(written), "objects-written")
			if err := ns.do(func() error { return be.Cleanup(context.Background()) }); err != nil {
				b.Fatal(err)
			}
		})
	}
}
