// Package pki gives an apiserver without certificates its own: a CA, a
// serving certificate and a client certificate for reaching the kubelets,
// both signed by the CA, and a key that signs service-account tokens,
// generated once into the data directory and reused on every later start.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"skiff.dev/pkg/atomicfile"
)

// Files are the paths of the generated material.
type Files struct {
	CACert, CAKey, ServingCert, ServingKey string
	// KubeletClientCert and KubeletClientKey authenticate the apiserver
	// to kubelets that trust CACert (their --client-ca-file).
	KubeletClientCert, KubeletClientKey string
}

// Subject of the kubelet client certificate, as Kubernetes' kubeadm names it.
const (
	KubeletClientCommonName   = "skiff-apiserver-kubelet-client"
	KubeletClientOrganization = "system:masters"
)

// FilesIn names the files under dir.
func FilesIn(dir string) Files {
	return Files{
		CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		ServingCert: filepath.Join(dir, "apiserver.crt"), ServingKey: filepath.Join(dir, "apiserver.key"),
		KubeletClientCert: filepath.Join(dir, "apiserver-kubelet-client.crt"),
		KubeletClientKey:  filepath.Join(dir, "apiserver-kubelet-client.key"),
	}
}

// Ensure makes sure dir holds a CA, a serving certificate valid for the
// given hosts (names and IPs) and a kubelet client certificate. An
// existing serving certificate that does not cover every host is
// replaced, and either certificate when it expires within a day; the CA
// is kept.
func Ensure(dir string, hosts []string) (Files, error) {
	f := FilesIn(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	ca, caKey, err := loadPair(f.CACert, f.CAKey)
	if errors.Is(err, os.ErrNotExist) {
		ca, caKey, err = newCA(f)
	}
	if err != nil {
		return f, fmt.Errorf("certificate authority: %w", err)
	}
	cert, _, err := loadPair(f.ServingCert, f.ServingKey)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, fmt.Errorf("serving certificate: %w", err)
	}
	if err != nil || !covers(cert, hosts) || expiring(cert) {
		if err := newServing(f, ca, caKey, hosts); err != nil {
			return f, fmt.Errorf("serving certificate: %w", err)
		}
	}
	client, _, err := loadPair(f.KubeletClientCert, f.KubeletClientKey)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, fmt.Errorf("kubelet client certificate: %w", err)
	}
	if err != nil || expiring(client) {
		if err := newKubeletClient(f, ca, caKey); err != nil {
			return f, fmt.Errorf("kubelet client certificate: %w", err)
		}
	}
	return f, nil
}

func expiring(cert *x509.Certificate) bool {
	return !cert.NotAfter.After(time.Now().Add(24 * time.Hour))
}

func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(cert.DNSNames, h) {
			return false
		}
	}
	return true
}

func loadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if _, statErr := os.Stat(certFile); errors.Is(statErr, os.ErrNotExist) {
			return nil, nil, os.ErrNotExist
		}
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an ECDSA key", keyFile)
	}
	return pair.Leaf, key, nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func newCA(f Files) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: "skiff-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := write(f.CACert, f.CAKey, der, key); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newServing(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) error {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: "skiff-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return issue(f.ServingCert, f.ServingKey, tmpl, ca, caKey)
}

func newKubeletClient(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: KubeletClientCommonName, Organization: []string{KubeletClientOrganization}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return issue(f.KubeletClientCert, f.KubeletClientKey, tmpl, ca, caKey)
}

// issue signs a new key's certificate, valid for a year, from tmpl's
// subject, names and extended key usages.
func issue(certFile, keyFile string, tmpl *x509.Certificate, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return err
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	return write(certFile, keyFile, der, key)
}

// write stores a certificate and its key, each through a temporary file so
// a crash never leaves half a file.
func write(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// WriteFileAtomic writes data to path so readers see the old or the new
// content, never part of it.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return atomicfile.Write(path, data, mode)
}
