package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"skiff.dev/pkg/atomicfile"
)

// ServiceAccountKeyFiles are the generated service-account signing key
// and its public half, as kubeadm names them.
func ServiceAccountKeyFiles(dir string) (key, pub string) {
	return filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
}

// EnsureServiceAccountKey makes sure dir holds an ECDSA P-256 key that
// signs service-account tokens (sa.key, with sa.pub for other servers'
// --service-account-key-file) and returns the key's path. An existing key
// is kept for good: replacing it would invalidate every token out there.
func EnsureServiceAccountKey(dir string) (string, error) {
	keyFile, pubFile := ServiceAccountKeyFiles(dir)
	if _, err := os.Stat(keyFile); err == nil {
		return keyFile, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", err
	}
	// The public half first: a crash in between leaves no key, so the
	// next start generates both again.
	if err := atomicfile.Write(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return "", fmt.Errorf("service account public key: %w", err)
	}
	if err := atomicfile.Write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", fmt.Errorf("service account key: %w", err)
	}
	return keyFile, nil
}
