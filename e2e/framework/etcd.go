package framework

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"skiff.dev/pkg/etcdpki"
)

// EtcdAccess is how a test reaches the apiserver's embedded etcd
// directly, as only the apiserver may: the member's client URL (https)
// and a TLS configuration presenting the apiserver's etcd client
// certificate from the data directory. Clients without it are refused.
func (s *APIServer) EtcdAccess(t testing.TB) (endpoint string, cfg *tls.Config) {
	t.Helper()
	dir := filepath.Join(s.DataDir, "etcd")
	data, err := os.ReadFile(filepath.Join(dir, "ports.json"))
	if err != nil {
		t.Fatalf("embedded etcd ports: %v", err)
	}
	var ports struct{ Client int }
	if err := json.Unmarshal(data, &ports); err != nil {
		t.Fatalf("embedded etcd ports: %v", err)
	}
	cfg, err = etcdpki.FilesIn(filepath.Join(dir, "pki")).ClientTLS()
	if err != nil {
		t.Fatalf("embedded etcd credentials: %v", err)
	}
	return fmt.Sprintf("https://127.0.0.1:%d", ports.Client), cfg
}
