package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"skiff.dev/pkg/certgen"
)

// Client names a client certificate the apiserver issues for one of the
// components: its files are <name>.crt and <name>.key.
type Client struct {
	Name         string
	CommonName   string
	Organization []string
}

// Components are the identities the apiserver issues kubeconfigs for when
// it keeps its own CA (and charts/skiff's controlplane-pki for the
// control plane it deploys): each component's client certificate names
// the user Kubernetes' bootstrap policy grants that component's
// permissions to.
var Components = []Client{
	{Name: "scheduler", CommonName: "system:kube-scheduler"},
	{Name: "controller-manager", CommonName: "system:kube-controller-manager"},
	{Name: "cloud-controller", CommonName: "system:cloud-controller-manager"},
	{Name: "proxy", CommonName: "system:kube-proxy"},
}

// EnsureClientPEM is EnsureClient returning the certificate and key
// themselves, PEM, as a kubeconfig embeds them.
func EnsureClientPEM(dir string, c Client) (cert, key []byte, err error) {
	certFile, keyFile, err := EnsureClient(dir, c)
	if err != nil {
		return nil, nil, err
	}
	if cert, err = os.ReadFile(certFile); err != nil {
		return nil, nil, err
	}
	if key, err = os.ReadFile(keyFile); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// EnsureClient makes sure dir holds c's certificate, signed by the CA in
// dir, and returns its files. A certificate that is missing, expires
// within a day or names another subject is issued anew.
func EnsureClient(dir string, c Client) (certFile, keyFile string, err error) {
	f := FilesIn(dir)
	ca, caKey, err := certgen.LoadPair(f.CACert, f.CAKey)
	if err != nil {
		return "", "", fmt.Errorf("certificate authority: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, c.Name+".crt"), filepath.Join(dir, c.Name+".key")
	cert, _, err := certgen.LoadPair(certFile, keyFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("%s client certificate: %w", c.Name, err)
	}
	if err == nil && !certgen.Expiring(cert) && cert.Subject.CommonName == c.CommonName && slices.Equal(cert.Subject.Organization, c.Organization) {
		return certFile, keyFile, nil
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: c.CommonName, Organization: c.Organization},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if err := certgen.Issue(certFile, keyFile, tmpl, ca, caKey); err != nil {
		return "", "", fmt.Errorf("%s client certificate: %w", c.Name, err)
	}
	return certFile, keyFile, nil
}
