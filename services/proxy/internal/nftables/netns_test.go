//go:build linux && (amd64 || arm64)

package nftables

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"

	"skiff.dev/services/proxy/internal/model"
	"skiff.dev/services/proxy/internal/model/modeltest"
	"skiff.dev/services/proxy/internal/netnstest"
)

// netns is a test namespace whose nftables the backend under test writes.
type netns struct {
	*netnstest.Netns
	t    testing.TB
	name string
}

func newNetns(t testing.TB) *netns {
	t.Helper()
	ns := netnstest.New(t, "skiff-nft", "nft")
	return &netns{Netns: ns, t: t, name: ns.Name}
}

// run runs a command inside the namespace, with stdin, and returns its output.
func (ns *netns) run(stdin string, args ...string) string {
	ns.t.Helper()
	return ns.Run(ns.t, stdin, args...)
}

// do runs fn on a thread in the namespace (the backend's nft runs there).
func (ns *netns) do(fn func() error) error { return ns.Do(fn) }

// backend returns a Backend whose nft commands run in the namespace.
func (ns *netns) backend() *Backend {
	ns.t.Helper()
	var b *Backend
	if err := ns.do(func() (err error) {
		b, err = New(testOptions)
		return err
	}); err != nil {
		ns.t.Fatalf("New: %v", err)
	}
	return b
}

// sync runs one sync of a fixture (or any state) inside the namespace.
func (ns *netns) sync(b *Backend, st model.State, full bool) model.SyncStats {
	ns.t.Helper()
	var stats model.SyncStats
	if err := ns.do(func() (err error) {
		stats, err = b.Sync(context.Background(), st, full)
		return err
	}); err != nil {
		ns.t.Fatalf("Sync(full=%v): %v", full, err)
	}
	return stats
}

// listing is the table as nft prints it, its chains, sets and maps sorted
// (nft prints them in creation order) and without affinity set contents
// (the kernel fills those as clients connect).
func (ns *netns) listing() string {
	out := strings.TrimSpace(ns.run("", "nft", "list", "table", Family, Table))
	out = strings.TrimSuffix(out, "}") // the table's own braces
	_, out, _ = strings.Cut(out, "{\n")
	var blocks []string
	for _, b := range strings.Split(out, "\n\n") {
		var keep []string
		for _, l := range strings.Split(strings.TrimSpace(b), "\n") {
			if !strings.Contains(l, "expires") {
				keep = append(keep, l)
			}
		}
		blocks = append(blocks, strings.Join(keep, "\n"))
	}
	slices.Sort(blocks)
	return strings.Join(blocks, "\n\n")
}

// TestSyncs moves the table from every fixture to every other one, each
// time incrementally in one namespace and with a full sync into a fresh
// table in another, and checks both kernels hold the same table: the
// incremental transaction writes exactly the difference, leftovers included.
func TestSyncs(t *testing.T) {
	inc, fresh := newNetns(t), newNetns(t)
	names := slices.Sorted(maps.Keys(fixtures))
	bi := inc.backend()
	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			t.Run(from+" to "+to, func(t *testing.T) {
				inc.t, fresh.t = t, t
				inc.sync(bi, fixtures[from], false)
				stats := inc.sync(bi, fixtures[to], false)
				bf := fresh.backend()
				fresh.sync(bf, fixtures[to], true)
				if got, want := inc.listing(), fresh.listing(); got != want {
					t.Errorf("incremental sync gave\n%s\nwant, as a full sync gives,\n%s", got, want)
				}
				if stats.Written == 0 {
					t.Errorf("got an empty incremental transaction between different states")
				}
				if again := inc.sync(bi, fixtures[to], false); again.Written != 0 {
					t.Errorf("got %d operations syncing the same state again, want none", again.Written)
				}
				if err := fresh.do(func() error { return bf.Cleanup(context.Background()) }); err != nil {
					t.Fatalf("Cleanup: %v", err)
				}
			})
		}
	}
	inc.t = t
	// A full sync over a table holding another state removes its leftovers.
	inc.sync(bi, fixtures["nodeport local"], false)
	inc.sync(bi, fixtures["two endpoints"], true)
	if l := inc.listing(); strings.Contains(l, "local-") || strings.Contains(l, "external-") {
		t.Errorf("got chains of the previous state after a full sync:\n%s", l)
	}
	if err := inc.do(func() error { return bi.Cleanup(context.Background()) }); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if out := inc.run("", "nft", "list", "tables"); strings.Contains(out, Table) {
		t.Errorf("got table %s after Cleanup:\n%s", Table, out)
	}
}

// TestTraffic connects from inside a namespace to a fake ClusterIP and a
// NodePort (addresses on one end of a veth pair; there is no dummy module)
// and checks that both endpoints answer, that session affinity pins the
// client, and that a Service without endpoints refuses at once.
func TestTraffic(t *testing.T) {
	ns := newNetns(t)
	ns.Topology(t, "192.168.50.2", "10.244.1.5", "10.244.2.7")
	ns.ServeNames(t, 8080, "10.244.1.5", "10.244.2.7")
	ns.ServeNamesUDP(t, 8080, "10.244.1.5", "10.244.2.7")

	sp := web()
	sp.NodePort = 30080
	eps := fixtures["two endpoints"].Endpoints
	b := ns.backend()
	t.Cleanup(func() { _ = ns.do(func() error { return b.Cleanup(context.Background()) }) })
	ns.sync(b, model.State{Services: []model.ServicePort{sp}, Endpoints: eps}, true)
	for _, addr := range []string{"10.96.0.10:80", "192.168.50.2:30080"} {
		seen := map[string]int{}
		for range 40 {
			got, err := ns.dial(addr)
			if err != nil {
				t.Fatalf("dial %s: %v", addr, err)
			}
			seen[got]++
		}
		if len(seen) != 2 {
			t.Errorf("dial %s: got answers %v, want both endpoints", addr, seen)
		}
	}

	ns.sync(b, fixtures["affinity"], false)
	pinned := map[string]int{}
	for range 20 {
		got, err := ns.dial("10.96.0.10:80")
		if err != nil {
			t.Fatalf("dial with session affinity: %v", err)
		}
		pinned[got]++
	}
	if len(pinned) != 1 {
		t.Errorf("dial with session affinity: got answers %v, want one endpoint", pinned)
	}

	// One port number over UDP and TCP: each protocol reaches the
	// endpoints, on the ClusterIP and on the shared NodePort.
	ns.sync(b, fixtures["tcp and udp on one port"], false)
	ns.ExpectBothEndpoints(t, "10.96.0.10:53", "192.168.50.2:30053")

	// Then one protocol at a time, as the conformance spec "should serve
	// endpoints on same port and different protocols" goes on: the port
	// left answers, and a new connection to the one removed is refused by
	// the node at once (kube-proxy's cluster-ips check), not routed on.
	_, tcp := modeltest.DNS()
	both := fixtures["tcp and udp on one port"]
	tcpOnly := model.State{Services: []model.ServicePort{tcp}, Endpoints: both.Endpoints}
	for _, step := range []struct {
		st         model.State
		keep, gone func(string) (string, error)
		name       string
	}{
		{fixtures["udp alone on the port"], ns.DialUDP, ns.Dial, "udp alone"},
		{tcpOnly, ns.Dial, ns.DialUDP, "tcp alone"},
		{fixtures["udp alone on the port"], ns.DialUDP, ns.Dial, "udp alone again"},
	} {
		ns.sync(b, step.st, false)
		if got, err := step.keep("10.96.0.10:53"); err != nil {
			t.Errorf("%s: the port left: got %q, %v; want an endpoint's answer", step.name, got, err)
		}
		if got, err := step.gone("10.96.0.10:53"); !refused(err) {
			t.Errorf("%s: the port removed: got %q, %v; want it refused", step.name, got, err)
		}
	}

	ns.sync(b, fixtures["no endpoints"], false)
	_, err := ns.dial("10.96.0.10:80")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a Service without endpoints: got %v, want connection refused", err)
	}
}

func (ns *netns) dial(addr string) (string, error) { return ns.Dial(addr) }

// refused tells a rejected packet from one lost on its way: a TCP reset or
// an ICMP port unreachable refuses the connection; a datagram the node's
// own socket sent and the output hook rejected fails to send (EPERM).
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPERM)
}
