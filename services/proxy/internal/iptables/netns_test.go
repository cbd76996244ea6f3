//go:build linux

package iptables

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netns is a network namespace made for one test and deleted at its end.
type netns struct {
	name string
}

func newNetns(tb testing.TB) *netns {
	tb.Helper()
	if testing.Short() {
		tb.Skip("network namespace test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create network namespaces")
	}
	for _, bin := range []string{"ip", "iptables", "iptables-save", "iptables-restore"} {
		if _, err := exec.LookPath(bin); err != nil {
			tb.Skipf("%s not installed", bin)
		}
	}
	b := make([]byte, 4)
	rand.Read(b)
	ns := &netns{name: "skiff-ipt-" + hex.EncodeToString(b)}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add %s: %v: %s", ns.name, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", ns.name, err, out)
		}
	})
	return ns
}

// command runs an iptables tool inside the namespace; it is the backend's
// CommandFunc in tests.
func (ns *netns) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
}

// run runs a command inside the namespace, with stdin, and returns its output.
func (ns *netns) run(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	cmd := ns.command(context.Background(), args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s in %s: %v: %s", strings.Join(args, " "), ns.name, err, out)
	}
	return string(out)
}

// backend is a Backend that runs iptables inside the namespace.
func (ns *netns) backend(tb testing.TB) *Backend {
	tb.Helper()
	b, err := New(testOptions, WithCommand(ns.command))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return b
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
