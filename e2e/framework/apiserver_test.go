package framework

import (
	"errors"
	"net"
	"testing"
)

// TestAPIServerPortTaken: an apiserver whose port another process holds
// reports errPortTaken (StartAPIServer then picks another port) instead
// of waiting out its deadline.
func TestAPIServerPortTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &APIServer{t: t, DataDir: t.TempDir(), Port: l.Addr().(*net.TCPAddr).Port}
	t.Cleanup(s.Stop)
	if err := s.start(); !errors.Is(err, errPortTaken) {
		t.Fatalf("start on a taken port: got %v, want errPortTaken", err)
	}
	if srv := StartAPIServer(t); srv.Port == 0 {
		t.Fatal("StartAPIServer gave no port")
	}
}
