package main

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"skiff.dev/pkg/certgen"
)

// TestEnsure: the certificates verify against the CA for their hosts, a
// second run keeps them, and a new host issues one again.
func TestEnsure(t *testing.T) {
	caDir, dir := t.TempDir(), t.TempDir()
	ca, _, err := certgen.NewCA(filepath.Join(caDir, "ca.crt"), filepath.Join(caDir, "ca.key"), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	certs, err := parseCerts([]string{"a=10.0.0.10,10.0.0.12,localhost", "b=10.0.0.10,10.0.0.13"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ensure(caDir, dir, "skiff-apiserver", certs); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, c := range certs {
		leaf, _, err := certgen.LoadPair(filepath.Join(dir, c.name+".crt"), filepath.Join(dir, c.name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range c.hosts {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: h}); err != nil {
				t.Errorf("%s for %s: %v", c.name, h, err)
			}
		}
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := read("a.crt"), read("b.crt")
	certs[1].hosts = append(certs[1].hosts, "apiserver-3")
	if err := ensure(caDir, dir, "skiff-apiserver", certs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read("a.crt"), a) {
		t.Error("a.crt issued again though it was current")
	}
	if bytes.Equal(read("b.crt"), b) {
		t.Error("b.crt kept though it does not cover apiserver-3")
	}
}

// TestParseCertsBadInput: each malformed argument is an error.
func TestParseCertsBadInput(t *testing.T) {
	for _, args := range [][]string{nil, {"a"}, {"=h"}, {"a="}, {"a=h,,i"}, {"../a=h"}} {
		if _, err := parseCerts(args); err == nil {
			t.Errorf("parseCerts(%q): no error", args)
		}
	}
}

// TestEnsureNoCA: without the CA it says where it looked.
func TestEnsureNoCA(t *testing.T) {
	err := ensure(t.TempDir(), t.TempDir(), "x", []cert{{name: "a", hosts: []string{"h"}}})
	if err == nil {
		t.Fatal("no error without a CA")
	}
}
