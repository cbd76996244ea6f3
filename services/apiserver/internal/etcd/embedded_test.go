package etcd

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestATakenPortIsNoticed: a port taken between choosing and binding
// fails the start with EADDRINUSE, which Start answers by choosing again.
func TestATakenPortIsNoticed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	peer, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	e, err := start(context.Background(), EmbedConfig{Dir: t.TempDir()}, ports{Client: taken, Peer: peer})
	if err == nil {
		e.Close()
		t.Fatal("etcd started on a taken port")
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("start on a taken port: %v, want EADDRINUSE", err)
	}
}

// TestStartKeepsItsPorts: a member that ran finds its ports again.
func TestStartKeepsItsPorts(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(context.Background(), EmbedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(dir, portsFile))
	e.Close()
	e, err = Start(context.Background(), EmbedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if again, _ := os.ReadFile(filepath.Join(dir, portsFile)); string(again) != string(first) {
		t.Errorf("ports %s after a restart, were %s", again, first)
	}
}
