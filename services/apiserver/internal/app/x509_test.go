package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"skiff.dev/pkg/client"
	"skiff.dev/services/apiserver/internal/pki"
)

// signer issues client certificates for tests.
type signer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// loadSigner reads the apiserver's generated CA.
func loadSigner(t *testing.T, dataDir string) signer {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dataDir, "pki", "ca.crt"), filepath.Join(dataDir, "pki", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	return signer{cert: pair.Leaf, key: pair.PrivateKey.(*ecdsa.PrivateKey)}
}

// newSigner is a CA the apiserver does not trust.
func newSigner(t *testing.T) signer {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rogue-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return signer{cert: cert, key: key}
}

// issue signs a client certificate for cn in orgs, valid until notAfter;
// it returns the PEM certificate and key.
func (s signer) issue(t *testing.T, cn string, orgs []string, notAfter time.Time, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.cert, &key.PublicKey, s.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// TestClientCertificates: a certificate signed by the client CA names the
// user and groups on both faces; an expired one, one from another CA or
// one not for client authentication is a 401.
func TestClientCertificates(t *testing.T) {
	s := startServer(t)
	ca := loadSigner(t, s.dataDir)
	later := time.Now().Add(time.Hour)
	get := func(certPEM, keyPEM []byte, token string) (int, string) {
		t.Helper()
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		tr := s.http.Transport.(*http.Transport).Clone()
		// Sent whatever CAs the server names, as a forger would.
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
		defer tr.CloseIdleConnections()
		saved := s.http
		s.http = &http.Client{Transport: tr, Timeout: saved.Timeout}
		defer func() { s.http = saved }()
		return s.doAs("GET", "/api/v1/namespaces/default/secrets", token, "", nil)
	}
	cert, key := ca.issue(t, "carol", []string{"devs", "ops"}, later, x509.ExtKeyUsageClientAuth)
	if code, msg := get(cert, key, ""); code != 403 || msg != `secrets is forbidden: User "carol" cannot list resource "secrets" in API group "" in the namespace "default"` {
		t.Errorf("carol's certificate: got %d %q", code, msg)
	}
	admin, adminKey := ca.issue(t, "root", []string{"system:masters"}, later, x509.ExtKeyUsageClientAuth)
	if code, msg := get(admin, adminKey, ""); code != 200 {
		t.Errorf("a system:masters certificate: got %d %q", code, msg)
	}
	expired, expiredKey := ca.issue(t, "carol", nil, time.Now().Add(-time.Hour), x509.ExtKeyUsageClientAuth)
	rogue, rogueKey := newSigner(t).issue(t, "root", []string{"system:masters"}, later, x509.ExtKeyUsageClientAuth)
	serving, servingKey := ca.issue(t, "root", []string{"system:masters"}, later, x509.ExtKeyUsageServerAuth)
	for name, c := range map[string][2][]byte{"expired": {expired, expiredKey}, "another CA's": {rogue, rogueKey}, "a serving": {serving, servingKey}} {
		if code, msg := get(c[0], c[1], ""); code != 401 {
			t.Errorf("%s certificate: got %d %q, want 401", name, code, msg)
		}
	}
	// A refused certificate does not stand in the way of a valid token.
	if code, msg := get(rogue, rogueKey, s.adminToken); code != 200 {
		t.Errorf("another CA's certificate with the admin token: got %d %q", code, msg)
	}

	// gRPC.
	c, err := client.New(client.Config{Address: s.addr, CAData: s.ca, CertData: cert, KeyData: key})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.CoreV1().Secrets("default").List(context.Background(), client.ListOptions{})
	if !client.IsForbidden(err) || err.Error() != `secrets is forbidden: User "carol" cannot list resource "secrets" in API group "" in the namespace "default"` {
		t.Errorf("carol over gRPC: got %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "rogue.crt"), filepath.Join(dir, "rogue.key")
	if err := os.WriteFile(certFile, rogue, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, rogueKey, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := client.New(client.Config{Address: s.addr, CAData: s.ca, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.CoreV1().Secrets("default").List(context.Background(), client.ListOptions{}); err == nil || client.IsForbidden(err) {
		t.Errorf("another CA's certificate over gRPC: got %v, want Unauthenticated", err)
	}
}

// TestComponentKubeconfigs: the apiserver writes a kubeconfig per
// component whose certificate names that component's user.
func TestComponentKubeconfigs(t *testing.T) {
	s := startServer(t)
	for _, comp := range pki.Components {
		c, err := client.NewFromKubeconfig(filepath.Join(s.dataDir, "kubeconfigs", comp.Name+".kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CoreV1().Secrets("nowhere").Get(context.Background(), "none")
		want := `secrets "none" is forbidden: User "` + comp.CommonName + `" cannot get resource "secrets" in API group "" in the namespace "nowhere"`
		if comp.Name == "controller-manager" {
			// Kubernetes' controller-manager role reads secrets.
			want = `secrets "none" not found`
		}
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", comp.Name, err, want)
		}
		_ = c.Close()
		info, err := os.Stat(filepath.Join(s.dataDir, "kubeconfigs", comp.Name+".kubeconfig"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s kubeconfig: %v, mode %v; want 0600", comp.Name, err, info.Mode())
		}
	}
}
