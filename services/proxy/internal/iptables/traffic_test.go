//go:build linux

package iptables

import (
	"context"
	"errors"
	"maps"
	"strings"
	"syscall"
	"testing"

	"skiff.dev/services/proxy/internal/model"
)

// TestTraffic connects from inside a namespace to a fake ClusterIP and a
// NodePort (addresses on one end of a veth pair; there is no dummy module)
// and checks that both endpoints answer, that session affinity pins the
// client, that an unready endpoint gets no new connections and that a
// Service without endpoints refuses at once. Cleanup then leaves no rule.
func TestTraffic(t *testing.T) {
	ns := newNetns(t)
	ns.Topology(t, "192.168.50.2", "10.244.1.5", "10.244.2.7")
	ns.ServeNames(t, 8080, "10.244.1.5", "10.244.2.7")
	ns.ServeNamesUDP(t, 8080, "10.244.1.5", "10.244.2.7")
	ctx := context.Background()
	b := ns.backend(t)
	sync := func(st model.State) {
		t.Helper()
		if _, err := b.Sync(ctx, st, false); err != nil {
			t.Fatalf("Sync: %v", err)
		}
	}

	sp := web()
	sp.NodePort = 30080
	twoEps := fixtures["two endpoints"].Endpoints
	sync(model.State{Services: []model.ServicePort{sp}, Endpoints: twoEps})
	for _, addr := range []string{"10.96.0.10:80", "192.168.50.2:30080"} {
		if seen := dialMany(t, ns, addr, 40); len(seen) != 2 {
			t.Errorf("dial %s: got answers %v, want both endpoints", addr, seen)
		}
	}

	sync(fixtures["affinity"])
	if pinned := dialMany(t, ns, "10.96.0.10:80", 20); len(pinned) != 1 {
		t.Errorf("dial with session affinity: got answers %v, want one endpoint", pinned)
	}

	unready := maps.Clone(twoEps)
	unready[sp.ServicePortName] = []model.Endpoint{ep("10.244.1.5", true, "node-a"), ep("10.244.2.7", false, "node-b")}
	sync(model.State{Services: []model.ServicePort{sp}, Endpoints: unready})
	for _, addr := range []string{"10.96.0.10:80", "192.168.50.2:30080"} {
		if seen := dialMany(t, ns, addr, 20); len(seen) != 1 || seen["10.244.1.5"] != 20 {
			t.Errorf("dial %s with 10.244.2.7 unready: got answers %v, want 10.244.1.5 only", addr, seen)
		}
	}

	// One port number over UDP and TCP: each protocol reaches the
	// endpoints, on the ClusterIP and on the shared NodePort.
	sync(fixtures["tcp and udp on one port"])
	ns.ExpectBothEndpoints(t, "10.96.0.10:53", "192.168.50.2:30053")

	sync(model.State{Services: []model.ServicePort{sp}})
	for _, addr := range []string{"10.96.0.10:80", "192.168.50.2:30080"} {
		if _, err := ns.dial(addr); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial %s of a Service without endpoints: got %v, want connection refused", addr, err)
		}
	}

	if err := b.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if saved := ns.run(t, "", "iptables-save"); strings.Contains(saved, "SKIFF") {
		t.Errorf("got SKIFF in iptables-save after Cleanup:\n%s", saved)
	}
}

// dialMany connects n times to addr and counts the answers.
func dialMany(t *testing.T, ns *netns, addr string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		got, err := ns.dial(addr)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		seen[got]++
	}
	return seen
}
