package etcdpki

import (
	"bytes"
	"crypto/x509"
	"os"
	"testing"
)

// TestEnsure: a second Ensure keeps what is there, issues again what was
// removed or does not cover a new host, and every leaf verifies against
// the CA for its use.
func TestEnsure(t *testing.T) {
	dir := t.TempDir()
	f, err := Ensure(dir, []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ca, server, client := read(f.CACert), read(f.ServerCert), read(f.ClientCert)
	if err := os.Remove(f.ClientKey); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir, []string{"127.0.0.1", "localhost", "etcd"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		before  []byte
		changed bool
	}{
		{"CA kept", f.CACert, ca, false},
		{"serving certificate issued for the new host", f.ServerCert, server, true},
		{"client certificate issued again without its key", f.ClientCert, client, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if changed := !bytes.Equal(read(tc.file), tc.before); changed != tc.changed {
				t.Errorf("changed %v, want %v", changed, tc.changed)
			}
		})
	}
	cfg, err := f.ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Certificates[0].Leaf.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Errorf("client certificate does not verify: %v", err)
	}
}
