// Package netnstest gives the proxy backends' tests network namespaces to
// program: made for one test, deleted at its end, with helpers to run
// commands in them, open sockets in them and send TCP through their rules.
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"skiff.dev/pkg/netns"
)

// ClientIP is the pod-network address Dial connects from: no endpoint, so
// neither masquerade path applies.
const ClientIP = "10.244.9.9"

// Netns is one test's network namespace.
type Netns struct {
	Name string
}

// New makes a namespace, or skips the test in -short mode, without root
// or without ip or one of tools.
func New(tb testing.TB, prefix string, tools ...string) *Netns {
	tb.Helper()
	if testing.Short() {
		tb.Skip("network namespace test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create network namespaces")
	}
	for _, bin := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(bin); err != nil {
			tb.Skipf("%s not installed", bin)
		}
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := &Netns{Name: prefix + "-" + hex.EncodeToString(b)}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	return ns
}

// Command is a command run inside the namespace.
func (ns *Netns) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Run runs a command inside the namespace with stdin and returns its
// output; a failure fails the test.
func (ns *Netns) Run(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	cmd := ns.Command(context.Background(), args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s in %s: %v: %s", strings.Join(args, " "), ns.Name, err, out)
	}
	return string(out)
}

// Do runs fn on a thread inside the namespace (pkg/netns.Do).
func (ns *Netns) Do(fn func() error) error { return netns.Do(ns.Name, fn) }

// Topology gives the namespace a veth whose end holds the endpoints' and
// the client's addresses and nodeIP/24, with the service range routed to
// it (there is no dummy module here).
func (ns *Netns) Topology(tb testing.TB, nodeIP string, endpoints ...string) {
	tb.Helper()
	cmds := [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "link", "add", "skd0", "type", "veth", "peer", "name", "skd1"},
		{"ip", "link", "set", "skd0", "up"},
		{"ip", "link", "set", "skd1", "up"},
		{"ip", "addr", "add", ClientIP + "/32", "dev", "skd0"},
		{"ip", "addr", "add", nodeIP + "/24", "dev", "skd0"},
		{"ip", "route", "add", "10.96.0.0/16", "dev", "skd0"},
	}
	for _, ip := range endpoints {
		cmds = append(cmds, []string{"ip", "addr", "add", ip + "/32", "dev", "skd0"})
	}
	for _, args := range cmds {
		ns.Run(tb, "", args...)
	}
}

// ServeNames listens on each address:port in the namespace and answers
// every connection with the address, until the test ends.
func (ns *Netns) ServeNames(tb testing.TB, port int, ips ...string) {
	tb.Helper()
	for _, ip := range ips {
		var ln net.Listener
		if err := ns.Do(func() (err error) {
			ln, err = net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
			return err
		}); err != nil {
			tb.Fatalf("listen on %s: %v", ip, err)
		}
		tb.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = io.WriteString(c, ip)
				c.Close()
			}
		}()
	}
}

// ServeNamesUDP answers every datagram sent to each address:port in the
// namespace with the address, until the test ends.
func (ns *Netns) ServeNamesUDP(tb testing.TB, port int, ips ...string) {
	tb.Helper()
	for _, ip := range ips {
		var pc net.PacketConn
		if err := ns.Do(func() (err error) {
			pc, err = net.ListenPacket("udp", fmt.Sprintf("%s:%d", ip, port))
			return err
		}); err != nil {
			tb.Fatalf("listen on udp %s: %v", ip, err)
		}
		tb.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 512)
			for {
				_, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo([]byte(ip), from)
			}
		}()
	}
}

// DialUDP sends a datagram to addr from ClientIP (a new source port each
// time, so each is a new flow) and returns the answer.
func (ns *Netns) DialUDP(addr string) (string, error) {
	var conn net.Conn
	err := ns.Do(func() (err error) {
		d := net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(ClientIP)}}
		conn, err = d.Dial("udp", addr)
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("who?")); err != nil {
		return "", err
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	return string(buf[:n]), err
}

// Dial connects to addr from ClientIP and returns what the server wrote.
func (ns *Netns) Dial(addr string) (string, error) {
	var conn net.Conn
	err := ns.Do(func() (err error) {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ClientIP)}}
		conn, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(conn)
	return string(b), err
}

// ExpectBothEndpoints checks that TCP and UDP to each address reach two
// different endpoints over 20 tries: one port number served over both
// protocols, spread over two backends.
func (ns *Netns) ExpectBothEndpoints(tb testing.TB, addrs ...string) {
	tb.Helper()
	for _, addr := range addrs {
		for proto, dial := range map[string]func(string) (string, error){"tcp": ns.Dial, "udp": ns.DialUDP} {
			seen := map[string]int{}
			for range 20 {
				got, err := dial(addr)
				if err != nil {
					tb.Fatalf("%s to %s: %v", proto, addr, err)
				}
				seen[got]++
			}
			if len(seen) != 2 {
				tb.Errorf("%s to %s: got answers %v, want both endpoints", proto, addr, seen)
			}
		}
	}
}
