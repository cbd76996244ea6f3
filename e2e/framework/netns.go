package framework

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"skiff.dev/pkg/netns"
)

// Netns is a network namespace made for one test; it is deleted, with
// every link and rule in it, when the test ends.
type Netns struct {
	t    testing.TB
	Name string
}

// NeedNetns skips the test unless it may create network namespaces.
func NeedNetns(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespace test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed")
	}
}

// NewNetns creates a namespace with its loopback up.
func NewNetns(t testing.TB, prefix string) *Netns {
	t.Helper()
	NeedNetns(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	ns := &Netns{t: t, Name: prefix + "-" + hex.EncodeToString(b)}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.Run("ip", "link", "set", "lo", "up")
	return ns
}

// Run runs a command in the namespace and returns its output; failure
// fails the test.
func (ns *Netns) Run(args ...string) string {
	ns.t.Helper()
	out, err := ns.Try(args...)
	if err != nil {
		ns.t.Fatalf("%s in %s: %v", strings.Join(args, " "), ns.Name, err)
	}
	return out
}

// Try runs a command in the namespace and returns its output and error.
func (ns *Netns) Try(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, out)
	}
	return string(out), nil
}

// Command is a command that runs in the namespace.
func (ns *Netns) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// EnterCommand is a command that runs in the namespace's network but,
// unlike Command (ip netns exec remounts /sys for the namespace), sees the
// host's mounts, cgroups included: for containerd and runc.
func (ns *Netns) EnterCommand(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=/run/netns/" + ns.Name, "--", name}, args...)...)
}

// Do runs fn on a thread inside the namespace (pkg/netns.Do).
func (ns *Netns) Do(fn func() error) error { return netns.Do(ns.Name, fn) }

// Listen opens a TCP listener in the namespace; it closes with the test.
func (ns *Netns) Listen(addr string) net.Listener {
	ns.t.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		ns.t.Fatalf("listen on %s in %s: %v", addr, ns.Name, err)
	}
	ns.t.Cleanup(func() { ln.Close() })
	return ln
}

// Veth joins two namespaces with a veth pair, giving each end its
// addresses (CIDR form, the first one's subnet routed there) and bringing
// both up. Deleting either namespace deletes the pair.
func Veth(t testing.TB, a *Netns, aName string, aAddrs []string, b *Netns, bName string, bAddrs []string) {
	t.Helper()
	a.Run("ip", "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b.Name)
	for _, end := range []struct {
		ns    *Netns
		link  string
		addrs []string
	}{{a, aName, aAddrs}, {b, bName, bAddrs}} {
		for _, addr := range end.addrs {
			end.ns.Run("ip", "addr", "add", addr, "dev", end.link)
		}
		end.ns.Run("ip", "link", "set", end.link, "up")
	}
}

// ForwardTCP makes the host's TCP address to reachable from inside ns
// and returns the namespace-side address (on its loopback): a listener in
// the namespace relays each connection. It stops with the test.
func ForwardTCP(t testing.TB, ns *Netns, to string) string {
	t.Helper()
	ln := ns.Listen("127.0.0.1:0")
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go relay(in, func() (net.Conn, error) { return net.Dial("tcp", to) })
		}
	}()
	return ln.Addr().String()
}

// Expose makes the TCP address addr inside ns reachable from the host and
// returns the host-side address (on its loopback): a host listener relays
// each connection, dialled from inside the namespace. It stops with the
// test.
func Expose(t testing.TB, ns *Netns, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("expose %s of %s: %v", addr, ns.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go relay(in, func() (out net.Conn, err error) {
				err = ns.Do(func() error { out, err = net.Dial("tcp", addr); return err })
				return out, err
			})
		}
	}()
	return ln.Addr().String()
}

// ForwardAPIServer makes srv reachable inside ns at 127.0.0.1 (which its
// certificate names) and returns a kubeconfig for that address, with the
// component's identity (see APIServer.ComponentKubeconfig).
func ForwardAPIServer(t testing.TB, srv *APIServer, ns *Netns, component string) string {
	t.Helper()
	addr := ForwardTCP(t, ns, "127.0.0.1:"+strconv.Itoa(srv.Port))
	kc, err := os.ReadFile(srv.ComponentKubeconfig(component))
	if err != nil {
		t.Fatalf("read kubeconfig: %v", err)
	}
	out := strings.ReplaceAll(string(kc), srv.URL(), "https://"+addr)
	path := t.TempDir() + "/" + ns.Name + "-" + component + ".kubeconfig"
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

// relay copies between in and the connection dial makes, both ways.
func relay(in net.Conn, dial func() (net.Conn, error)) {
	defer in.Close()
	out, err := dial()
	if err != nil {
		return
	}
	go func() {
		_, _ = io.Copy(out, in)
		out.Close()
	}()
	_, _ = io.Copy(in, out)
	out.Close()
}
