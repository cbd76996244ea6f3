//go:build linux

package iptables

import (
	"testing"

	"skiff.dev/services/proxy/internal/netnstest"
)

// netns is a test namespace whose iptables the backend under test writes.
type netns struct {
	*netnstest.Netns
	name string
}

func newNetns(tb testing.TB) *netns {
	tb.Helper()
	ns := netnstest.New(tb, "skiff-ipt", "iptables", "iptables-save", "iptables-restore")
	return &netns{Netns: ns, name: ns.Name}
}

func (ns *netns) run(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	return ns.Run(tb, stdin, args...)
}

// backend is a Backend that runs iptables inside the namespace.
func (ns *netns) backend(tb testing.TB) *Backend {
	tb.Helper()
	b, err := New(testOptions, WithCommand(ns.Command))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return b
}

func (ns *netns) dial(addr string) (string, error) { return ns.Dial(addr) }
