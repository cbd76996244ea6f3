package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
)

func TestServiceAccountKeyIsGeneratedOnce(t *testing.T) {
	dir := t.TempDir()
	path, err := EnsureServiceAccountKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	again, err := EnsureServiceAccountKey(dir)
	second, _ := os.ReadFile(again)
	if err != nil || again != path || !bytes.Equal(first, second) {
		t.Fatalf("second start: %s %v; want the same key kept", again, err)
	}
	block, _ := pem.Decode(first)
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil || key.Curve.Params().Name != "P-256" {
		t.Fatalf("sa.key: %v", err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("sa.key mode %v, want 0600", info.Mode().Perm())
	}
	_, pubFile := ServiceAccountKeyFiles(dir)
	data, _ := os.ReadFile(pubFile)
	block, _ = pem.Decode(data)
	if block == nil {
		t.Fatal("sa.pub holds no PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil || !key.PublicKey.Equal(pub) {
		t.Fatalf("sa.pub is not the key's public half: %v", err)
	}
}
