package csrsigning

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"skiff.dev/pkg/csr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newCA(t *testing.T, notAfter time.Time) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Certificate: cert, Key: key}
}

func newRequest(t *testing.T, tmpl *x509.CertificateRequest) *x509.CertificateRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestLifetime(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	for _, tc := range []struct {
		asked *int32
		want  time.Duration
	}{
		{nil, DefaultDuration},
		{i32(3600), time.Hour},
		{i32(600), 10 * time.Minute},
		{i32(60), 10 * time.Minute}, // at least ten minutes
		{i32(2 * 365 * 24 * 3600), DefaultDuration},
	} {
		if got := lifetime(DefaultDuration, tc.asked); got != tc.want {
			t.Errorf("lifetime(%v): %v, want %v", tc.asked, got, tc.want)
		}
	}
}

func TestSign(t *testing.T) {
	ca := newCA(t, now.Add(10*365*24*time.Hour))
	req := newRequest(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}})
	for _, tc := range []struct {
		ttl       time.Duration
		notBefore time.Time
		notAfter  time.Time
	}{
		{time.Hour, now.Add(-5 * time.Minute), now.Add(time.Hour)},
		{DefaultDuration, now.Add(-5 * time.Minute), now.Add(DefaultDuration - 5*time.Minute)},
	} {
		pemCert, err := Sign(ca, req, []string{"digital signature", "key encipherment", "client auth"}, tc.ttl, now)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(pemCert)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !cert.NotBefore.Equal(tc.notBefore) || !cert.NotAfter.Equal(tc.notAfter) {
			t.Errorf("ttl %v: valid %v to %v, want %v to %v", tc.ttl, cert.NotBefore, cert.NotAfter, tc.notBefore, tc.notAfter)
		}
		if cert.Subject.CommonName != "system:node:n1" || !slices.Equal(cert.Subject.Organization, []string{"system:nodes"}) || cert.IsCA {
			t.Errorf("subject %v, CA %v", cert.Subject, cert.IsCA)
		}
		if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment || !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
			t.Errorf("usages %v %v", cert.KeyUsage, cert.ExtKeyUsage)
		}
		if err := cert.CheckSignatureFrom(ca.Certificate); err != nil {
			t.Errorf("not signed by the CA: %v", err)
		}
	}
	// Never past the CA's expiry.
	short := newCA(t, now.Add(time.Hour))
	pemCert, err := Sign(short, req, []string{"client auth"}, DefaultDuration, now)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemCert)
	cert, _ := x509.ParseCertificate(block.Bytes)
	if !cert.NotAfter.Equal(short.Certificate.NotAfter) {
		t.Errorf("valid until %v, past the CA's %v", cert.NotAfter, short.Certificate.NotAfter)
	}
	if _, err := Sign(short, req, []string{"client auth"}, time.Hour, now.Add(2*time.Hour)); err == nil {
		t.Error("an expired CA signed")
	}
	if _, err := Sign(ca, req, []string{"flying"}, time.Hour, now); err == nil || !strings.Contains(err.Error(), "unrecognized usage values") {
		t.Errorf("an unknown usage: %v", err)
	}
}

// TestSigners: what each signer requires of a request.
func TestSigners(t *testing.T) {
	node := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}}
	serving := &x509.CertificateRequest{Subject: node.Subject, DNSNames: []string{"n1"}}
	user := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice", Organization: []string{"dev"}}}
	for _, tc := range []struct {
		signer string
		tmpl   *x509.CertificateRequest
		usages []string
		err    string
	}{
		{csr.KubeAPIServerClientKubelet, node, []string{"digital signature", "client auth"}, ""},
		{csr.KubeAPIServerClientKubelet, node, []string{"client auth"}, "usages did not match"},
		{csr.KubeAPIServerClientKubelet, user, []string{"digital signature", "client auth"}, "subject organization is not system:nodes"},
		{csr.KubeAPIServerClientKubelet, serving, []string{"digital signature", "client auth"}, "DNS subjectAltNames are not allowed"},
		{csr.KubeletServing, serving, []string{"digital signature", "server auth"}, ""},
		{csr.KubeletServing, node, []string{"digital signature", "server auth"}, "DNS or IP subjectAltName is required"},
		{csr.KubeAPIServerClient, user, []string{"client auth"}, ""},
		{csr.KubeAPIServerClient, user, []string{"client auth", "server auth"}, "invalid usage for client certificate: server auth"},
		{csr.KubeAPIServerClient, user, []string{"digital signature"}, "missing required usage for client certificate: client auth"},
	} {
		err := checks[tc.signer](newRequest(t, tc.tmpl), tc.usages)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s %v %v: %v, want %q", tc.signer, tc.tmpl.Subject, tc.usages, err, tc.err)
		}
	}
	if _, ok := checks["example.com/mine"]; ok {
		t.Error("signs for a signer not its own")
	}
}
