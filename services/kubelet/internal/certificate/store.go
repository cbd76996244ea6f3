// Package certificate gives the kubelet its own client certificate, as
// Kubernetes' TLS bootstrapping does: with --bootstrap-kubeconfig and no
// usable --kubeconfig, the kubelet asks for a certificate of
// system:node:<name> in system:nodes through a CertificateSigningRequest
// made with the bootstrap credentials, keeps it in --cert-dir as
// kubelet-client-<time>.pem (certificate and key in one file) behind the
// symlink kubelet-client-current.pem, and writes --kubeconfig pointing at
// that file. While it runs, it asks for a new certificate with its current
// identity when 70 to 90 percent (jittered) of the current one's lifetime
// has passed, and closes its connections to the apiserver so they are made
// again with the new certificate.
package certificate

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Store keeps the client certificates in a directory: each pair in
// <prefix>-<time>.pem and the current one behind <prefix>-current.pem.
type Store struct {
	Dir    string
	Prefix string // kubelet-client
	now    func() time.Time
}

// NewStore is the kubelet's client certificate store in dir.
func NewStore(dir string) *Store { return &Store{Dir: dir, Prefix: "kubelet-client", now: time.Now} }

// CurrentPath is the symlink to the current pair.
func (s *Store) CurrentPath() string { return filepath.Join(s.Dir, s.Prefix+"-current.pem") }

// Current reads the current pair, with its leaf parsed.
func (s *Store) Current() (*tls.Certificate, error) {
	return loadPair(s.CurrentPath())
}

func loadPair(path string) (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(path, path)
	if err != nil {
		return nil, err
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &pair, nil
}

// Update writes a new pair (the certificate chain, then the key) into a
// file of its own and makes it current by replacing the symlink at once.
func (s *Store) Update(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("the certificate directory: %w", err)
	}
	var out []byte
	for rest := certPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes})...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("invalid certificate data: no certificate")
	}
	key, _ := pem.Decode(keyPEM)
	if key == nil {
		return nil, errors.New("invalid key data")
	}
	out = append(out, pem.EncodeToMemory(key)...)
	name := fmt.Sprintf("%s-%s.pem", s.Prefix, s.now().Format("2006-01-02-15-04-05"))
	path := filepath.Join(s.Dir, name)
	if err := writeSynced(path, out, 0o600); err != nil {
		return nil, err
	}
	pair, err := loadPair(path)
	if err != nil {
		return nil, err
	}
	// A relative symlink, so the directory can move.
	tmp := s.CurrentPath() + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(name, tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, s.CurrentPath()); err != nil {
		return nil, err
	}
	return pair, nil
}

func writeSynced(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
