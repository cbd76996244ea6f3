package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestEnsureGeneratesOnceAndCoversHosts(t *testing.T) {
	dir := t.TempDir()
	f, err := Ensure(dir, []string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(f.ServingCert)
	if _, err := Ensure(dir, []string{"localhost", "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(f.ServingCert)
	if string(first) != string(again) {
		t.Fatal("serving certificate regenerated although it covers the hosts")
	}
	caPEM, _ := os.ReadFile(f.CACert)
	if _, err := Ensure(dir, []string{"localhost", "127.0.0.1", "skiff.example"}); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(f.ServingCert, f.ServingKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, host := range []string{"skiff.example", "localhost", "127.0.0.1"} {
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
	}
}
