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
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"skiff.dev/pkg/certgen"
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
	ca, caKey, err := certgen.LoadPair(f.CACert, f.CAKey)
	if errors.Is(err, os.ErrNotExist) {
		ca, caKey, err = certgen.NewCA(f.CACert, f.CAKey, CACommonName)
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
		cert, _, err := certgen.LoadPair(l.cert, l.key)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return f, fmt.Errorf("load %s: %w", l.cert, err)
		}
		if err == nil && current(cert, ca, l.hosts) {
			continue
		}
		tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: l.cn}, ExtKeyUsage: l.usage}
		certgen.AddHosts(tmpl, l.hosts)
		if err := certgen.Issue(l.cert, l.key, tmpl, ca, caKey); err != nil {
			return f, fmt.Errorf("issue %s: %w", l.cert, err)
		}
	}
	return f, nil
}

// current says whether cert can stay: signed by ca, not expiring within a
// day, covering every host.
func current(cert, ca *x509.Certificate, hosts []string) bool {
	return cert.CheckSignatureFrom(ca) == nil && !certgen.Expiring(cert) && certgen.Covers(cert, hosts)
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
