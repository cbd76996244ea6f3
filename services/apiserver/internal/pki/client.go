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
