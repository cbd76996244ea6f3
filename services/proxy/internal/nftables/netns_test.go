//go:build linux && (amd64 || arm64)

package nftables

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"skiff.dev/services/proxy/internal/model"
)

// netns is a network namespace made for one test and deleted at its end.
type netns struct {
	t    testing.TB
	name string
}

func newNetns(t testing.TB) *netns {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespace test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	b := make([]byte, 4)
	rand.Read(b)
	ns := &netns{t: t, name: "skiff-nft-" + hex.EncodeToString(b)}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.name, err, out)
		}
	})
	return ns
}

// run runs a command inside the namespace, with stdin, and returns its output.
func (ns *netns) run(stdin string, args ...string) string {
	ns.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.name}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		ns.t.Fatalf("%s in %s: %v: %s", strings.Join(args, " "), ns.name, err, out)
	}
	return string(out)
}

// do runs fn on an OS thread moved into the namespace; sockets fn opens stay
// there. The thread is never unlocked, so the runtime discards it afterwards.
func (ns *netns) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns.name)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns.name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

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

func fixtureState(name string) model.State {
	f := fixtures[name]
	return model.State{Services: f.services, Endpoints: f.endpoints}
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
				inc.sync(bi, fixtureState(from), false)
				stats := inc.sync(bi, fixtureState(to), false)
				bf := fresh.backend()
				fresh.sync(bf, fixtureState(to), true)
				if got, want := inc.listing(), fresh.listing(); got != want {
					t.Errorf("incremental sync gave\n%s\nwant, as a full sync gives,\n%s", got, want)
				}
				if stats.Written == 0 {
					t.Errorf("got an empty incremental transaction between different states")
				}
				if again := inc.sync(bi, fixtureState(to), false); again.Written != 0 {
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
	inc.sync(bi, fixtureState("nodeport local"), false)
	inc.sync(bi, fixtureState("two endpoints"), true)
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
	for _, args := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "link", "add", "skd0", "type", "veth", "peer", "name", "skd1"},
		{"ip", "link", "set", "skd0", "up"},
		{"ip", "link", "set", "skd1", "up"},
		{"ip", "addr", "add", "10.244.1.5/32", "dev", "skd0"},
		{"ip", "addr", "add", "10.244.2.7/32", "dev", "skd0"},
		{"ip", "addr", "add", "10.244.9.9/32", "dev", "skd0"},
		{"ip", "addr", "add", "192.168.50.2/24", "dev", "skd0"},
		{"ip", "route", "add", "10.96.0.0/16", "dev", "skd0"},
	} {
		ns.run("", args...)
	}
	for _, ip := range []string{"10.244.1.5", "10.244.2.7"} {
		var ln net.Listener
		if err := ns.do(func() (err error) {
			ln, err = net.Listen("tcp", ip+":8080")
			return err
		}); err != nil {
			t.Fatalf("listen on %s: %v", ip, err)
		}
		t.Cleanup(func() { ln.Close() })
		go serveName(ln, ip)
	}

	sp := web()
	sp.NodePort = 30080
	eps := fixtures["two endpoints"].endpoints
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

	ns.sync(b, fixtureState("affinity"), false)
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

	ns.sync(b, fixtureState("no endpoints"), false)
	_, err := ns.dial("10.96.0.10:80")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a Service without endpoints: got %v, want connection refused", err)
	}
}

// dial connects from a pod-network address that is no endpoint, so neither
// masquerade path applies, and returns what the server wrote.
func (ns *netns) dial(addr string) (string, error) {
	var conn net.Conn
	err := ns.do(func() (err error) {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("10.244.9.9")}}
		conn, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(conn)
	return string(b), err
}

// serveName answers every connection with name, until ln is closed.
func serveName(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.WriteString(c, name)
		c.Close()
	}
}
