// Package etcdpki generates the certificates that keep an etcd member to
// its one client, the apiserver: a certificate authority of etcd's own, a
// serving and a peer certificate for the member, and a client certificate
// for the apiserver, all signed by that CA. A member that requires client
// certificates signed by it (etcd's --client-cert-auth and
// --peer-client-cert-auth) then answers nobody else. The files are
// generated once into a directory, private keys mode 0600, and whatever
// is missing, expiring or no longer matches is issued again on the next
// Ensure.
package etcdpki

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
	CACert, CAKey         string
	ServerCert, ServerKey string
	PeerCert, PeerKey     string
	// ClientCert and ClientKey authenticate the apiserver to the member.
	ClientCert, ClientKey string
}

// Names of the certificates' subjects, after kubeadm's.
const (
	CACommonName     = "skiff-etcd-ca"
	ServerCommonName = "skiff-etcd-server"
	PeerCommonName   = "skiff-etcd-peer"
	ClientCommonName = "skiff-apiserver-etcd-client"
)

// FilesIn names the files under dir.
func FilesIn(dir string) Files {
	p := func(name string) string { return filepath.Join(dir, name) }
	return Files{
		CACert: p("ca.crt"), CAKey: p("ca.key"),
		ServerCert: p("server.crt"), ServerKey: p("server.key"),
		PeerCert: p("peer.crt"), PeerKey: p("peer.key"),
		ClientCert: p("apiserver-etcd-client.crt"), ClientKey: p("apiserver-etcd-client.key"),
	}
}

// Ensure makes sure dir holds the CA and the three certificates, the
// serving and peer ones valid for hosts (names and IP addresses). The CA
// is kept once made; a certificate is issued again when it is missing,
// expires within a day, was not signed by the CA or (serving and peer)
// does not cover every host.
func Ensure(dir string, hosts []string) (Files, error) {
	f := FilesIn(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("create etcd certificate directory: %w", err)
	}
	ca, caKey, err := loadPair(f.CACert, f.CAKey)
	if errors.Is(err, os.ErrNotExist) {
		ca, caKey, err = newCA(f)
	}
	if err != nil {
		return f, fmt.Errorf("etcd certificate authority: %w", err)
	}
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	leaves := []struct {
		cert, key, cn string
		hosts         []string
		usage         []x509.ExtKeyUsage
	}{
		{f.ServerCert, f.ServerKey, ServerCommonName, hosts, both},
		{f.PeerCert, f.PeerKey, PeerCommonName, hosts, both},
		{f.ClientCert, f.ClientKey, ClientCommonName, nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	}
	for _, l := range leaves {
		cert, _, err := loadPair(l.cert, l.key)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return f, fmt.Errorf("load %s: %w", l.cert, err)
		}
		if err == nil && current(cert, ca, l.hosts) {
			continue
		}
		if err := issue(l.cert, l.key, l.cn, l.hosts, l.usage, ca, caKey); err != nil {
			return f, fmt.Errorf("issue %s: %w", l.cert, err)
		}
	}
	return f, nil
}

// current says whether cert can stay: signed by ca, not expiring within a
// day, covering every host.
func current(cert, ca *x509.Certificate, hosts []string) bool {
	if cert.CheckSignatureFrom(ca) != nil || !cert.NotAfter.After(time.Now().Add(24*time.Hour)) {
		return false
	}
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

// ClientTLS is the TLS configuration of a client holding the apiserver's
// certificate: it presents it and trusts only the etcd CA.
func (f Files) ClientTLS() (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("load etcd client certificate: %w", err)
	}
	caPEM, err := os.ReadFile(f.CACert)
	if err != nil {
		return nil, fmt.Errorf("read etcd CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no certificate", f.CACert)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func loadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if _, statErr := os.Stat(certFile); errors.Is(statErr, os.ErrNotExist) {
			return nil, nil, os.ErrNotExist
		}
		if _, statErr := os.Stat(keyFile); errors.Is(statErr, os.ErrNotExist) {
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

func newCA(f Files) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: CACommonName},
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

// issue signs a new key's certificate for a year.
func issue(certFile, keyFile, cn string, hosts []string, usage []x509.ExtKeyUsage, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	return write(certFile, keyFile, der, key)
}

// write stores a certificate and its key (0600), each through a temporary
// file so a crash never leaves half a file.
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
