//go:build linux

package iptables

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"skiff.dev/services/proxy/internal/model"
)

// benchState has n Service ports, each with a ClusterIP, a NodePort and two
// ready endpoints.
func benchState(n int) model.State {
	st := model.State{Endpoints: map[model.ServicePortName][]model.Endpoint{}}
	addr := func(base, i int) string {
		return fmt.Sprintf("10.%d.%d.%d", base+i>>16, i>>8&255, i&255)
	}
	for i := range n {
		sp := model.ServicePort{
			ServicePortName: model.ServicePortName{Namespace: "bench", Name: "svc-" + strconv.Itoa(i), PortName: "http", Protocol: model.TCP},
			ClusterIP:       addr(96, i),
			Port:            80,
			NodePort:        30000 + i,
		}
		st.Services = append(st.Services, sp)
		st.Endpoints[sp.ServicePortName] = []model.Endpoint{
			{IP: addr(128, 2*i), Port: 8080, Ready: true, Serving: true},
			{IP: addr(128, 2*i+1), Port: 8080, Ready: true, Serving: true},
		}
	}
	return st
}

// BenchmarkSync measures full syncs and one-endpoint incremental syncs of
// 1,000 and 10,000 Service ports with the real iptables in a namespace.
func BenchmarkSync(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			ns := newNetns(b)
			ctx := context.Background()
			be := ns.backend(b)
			st := benchState(n)
			if _, err := be.Sync(ctx, st, true); err != nil {
				b.Fatalf("Sync: %v", err)
			}
			b.Run("full", func(b *testing.B) {
				var stats model.SyncStats
				for b.Loop() {
					var err error
					if stats, err = be.Sync(ctx, st, true); err != nil {
						b.Fatalf("Sync: %v", err)
					}
				}
				b.ReportMetric(float64(stats.Rules), "rules")
				b.ReportMetric(float64(stats.Written), "written/op")
			})
			b.Run("incremental", func(b *testing.B) {
				name := st.Services[n/2].ServicePortName
				eps := st.Endpoints[name]
				var stats model.SyncStats
				i := 0
				for b.Loop() {
					i++
					changed := []model.Endpoint{eps[0], eps[1]}
					changed[0].Port = 9000 + i%2 // a new endpoint replaces one
					st.Endpoints[name] = changed
					var err error
					if stats, err = be.Sync(ctx, st, false); err != nil {
						b.Fatalf("Sync: %v", err)
					}
				}
				b.ReportMetric(float64(stats.Written), "written/op")
			})
		})
	}
}
