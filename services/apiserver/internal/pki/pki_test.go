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

func TestEnsureIssuesKubeletClientCertificate(t *testing.T) {
	dir := t.TempDir()
	f, err := Ensure(dir, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(f.KubeletClientCert)
	if _, err := Ensure(dir, []string{"localhost"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(f.KubeletClientCert); string(first) != string(again) {
		t.Fatal("kubelet client certificate regenerated although it is valid")
	}
	pair, err := tls.LoadX509KeyPair(f.KubeletClientCert, f.KubeletClientKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := pair.Leaf.Subject.CommonName; got != KubeletClientCommonName {
		t.Errorf("got common name %q, want %q", got, KubeletClientCommonName)
	}
	if got := pair.Leaf.Subject.Organization; len(got) != 1 || got[0] != KubeletClientOrganization {
		t.Errorf("got organization %v, want [%s]", got, KubeletClientOrganization)
	}
	caPEM, _ := os.ReadFile(f.CACert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify against the CA for client auth: %v", err)
	}
}
