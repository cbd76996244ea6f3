//go:build linux && (amd64 || arm64)

package nftables

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
)

// netns is a network namespace made for one test and deleted at its end.
type netns struct {
	t    *testing.T
	name string
}

func newNetns(t *testing.T) *netns {
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

func render(t *testing.T, fixture string) string {
	t.Helper()
	f := fixtures[fixture]
	script, err := Render(testOptions, f.services, f.endpoints)
	if err != nil {
		t.Fatalf("Render %s: %v", fixture, err)
	}
	return script
}

// TestRealNftAcceptsScripts loads every fixture, one after the other, into
// the same namespace, so each load also replaces the previous table.
func TestRealNftAcceptsScripts(t *testing.T) {
	ns := newNetns(t)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range fixtures {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			ns.t = t
			script := render(t, name)
			ns.run(script, "nft", "-f", "-")
			listed := ns.run("", "nft", "list", "table", Family, Table)
			for _, line := range strings.Split(script, "\n") {
				if c, ok := strings.CutPrefix(line, "add chain ip skiff-proxy "); ok {
					c, _, _ = strings.Cut(c, " ")
					if !strings.Contains(listed, "chain "+c+" {") {
						t.Errorf("got no chain %s in nft list table:\n%s", c, listed)
					}
				}
			}
			if strings.Contains(name, "two") && strings.Contains(listed, "local-") {
				t.Errorf("got a chain of the previous table after replacing it:\n%s", listed)
			}
		})
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
	script, err := Render(testOptions, []ServicePort{sp}, eps)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	ns.run(script, "nft", "-f", "-")
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

	ns.run(render(t, "affinity"), "nft", "-f", "-")
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

	ns.run(render(t, "no endpoints"), "nft", "-f", "-")
	_, err = ns.dial("10.96.0.10:80")
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
