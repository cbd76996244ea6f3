// Package pki gives an apiserver without certificates its own: a CA, a
// serving certificate and a client certificate for reaching the kubelets,
// both signed by the CA, and a key that signs service-account tokens,
// generated once into the data directory and reused on every later start.
package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"skiff.dev/pkg/atomicfile"
	"skiff.dev/pkg/certgen"
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
	ca, caKey, err := certgen.LoadPair(f.CACert, f.CAKey)
	if errors.Is(err, os.ErrNotExist) {
		ca, caKey, err = certgen.NewCA(f.CACert, f.CAKey, "skiff-ca")
	}
	if err != nil {
		return f, fmt.Errorf("certificate authority: %w", err)
	}
	cert, _, err := certgen.LoadPair(f.ServingCert, f.ServingKey)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, fmt.Errorf("serving certificate: %w", err)
	}
	if err != nil || !certgen.Covers(cert, hosts) || certgen.Expiring(cert) {
		if err := newServing(f, ca, caKey, hosts); err != nil {
			return f, fmt.Errorf("serving certificate: %w", err)
		}
	}
	client, _, err := certgen.LoadPair(f.KubeletClientCert, f.KubeletClientKey)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, fmt.Errorf("kubelet client certificate: %w", err)
	}
	if err != nil || certgen.Expiring(client) {
		if err := newKubeletClient(f, ca, caKey); err != nil {
			return f, fmt.Errorf("kubelet client certificate: %w", err)
		}
	}
	return f, nil
}

func newServing(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) error {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: "skiff-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	certgen.AddHosts(tmpl, hosts)
	return certgen.Issue(f.ServingCert, f.ServingKey, tmpl, ca, caKey)
}

func newKubeletClient(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: KubeletClientCommonName, Organization: []string{KubeletClientOrganization}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return certgen.Issue(f.KubeletClientCert, f.KubeletClientKey, tmpl, ca, caKey)
}

// WriteFileAtomic writes data to path so readers see the old or the new
// content, never part of it.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return atomicfile.Write(path, data, mode)
}
