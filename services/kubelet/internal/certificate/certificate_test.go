package certificate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	certificatesv1 "skiff.dev/api/certificates/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/csr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// ca signs certificates for requests, as the csrsigning controller would.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key}
}

func (c *ca) sign(t *testing.T, request []byte, notBefore, notAfter time.Time) []byte {
	t.Helper()
	req, err := csr.ParseRequest(request)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: req.Subject, NotBefore: notBefore, NotAfter: notAfter,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, req.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir)
	if _, err := s.Current(); err == nil {
		t.Fatal("an empty store has a current pair")
	}
	c := newCA(t)
	for i, when := range []time.Time{now, now.Add(time.Second)} {
		key, keyPEM, _ := newKey()
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1"}}, key)
		certPEM := c.sign(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), now, now.Add(time.Hour))
		s.now = func() time.Time { return when }
		pair, err := s.Update(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := s.Current()
		if err != nil || !cur.Leaf.Equal(pair.Leaf) {
			t.Fatalf("update %d: current %v, %v", i, cur, err)
		}
		target, _ := os.Readlink(s.CurrentPath())
		if want := "kubelet-client-" + when.Format("2006-01-02-15-04-05") + ".pem"; target != want {
			t.Errorf("the symlink points at %q, want %q", target, want)
		}
		if fi, _ := os.Stat(filepath.Join(dir, target)); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v", fi.Mode())
		}
	}
	if _, err := s.Update([]byte("nope"), []byte("nope")); err == nil {
		t.Error("stored garbage")
	}
}

func TestUsable(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir)
	c := newCA(t)
	key, keyPEM, _ := newKey()
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1"}}, key)
	if _, err := s.Update(c.sign(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), now, now.Add(time.Hour)), keyPEM); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubelet.kubeconfig")
	if ok, _ := usable(kubeconfig, now); ok {
		t.Fatal("a missing kubeconfig is usable")
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
	if err := writeKubeconfig(kubeconfig, client.Config{Address: "127.0.0.1:6443", CAData: caPEM}, s.CurrentPath()); err != nil {
		t.Fatal(err)
	}
	cfg, err := client.FromKubeconfig(kubeconfig)
	if err != nil || cfg.Address != "127.0.0.1:6443" || string(cfg.CAData) != string(caPEM) || cfg.CertFile != s.CurrentPath() || cfg.KeyFile != s.CurrentPath() {
		t.Fatalf("the written kubeconfig reads as %+v, %v", cfg, err)
	}
	if ok, why := usable(kubeconfig, now.Add(30*time.Minute)); !ok {
		t.Errorf("a valid certificate: %s", why)
	}
	if ok, _ := usable(kubeconfig, now.Add(2*time.Hour)); ok {
		t.Error("an expired certificate is usable")
	}
	tokenOnly := filepath.Join(dir, "token.kubeconfig")
	_ = os.WriteFile(tokenOnly, []byte("clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"), 0o600)
	if ok, _ := usable(tokenOnly, now); ok {
		t.Error("a kubeconfig without a client certificate is usable")
	}
}

func TestRequestNames(t *testing.T) {
	key, _, _ := newKey()
	subject := pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}
	a, _ := digestedName(key.Public(), subject, []string{"digital signature", "client auth"})
	b, _ := digestedName(key.Public(), subject, []string{"digital signature", "client auth"})
	other, _, _ := newKey()
	c, _ := digestedName(other.Public(), subject, []string{"digital signature", "client auth"})
	if a != b || a == c || len(a) != len("node-csr-")+43 {
		t.Errorf("names %q %q %q: want the same for the same key, another for another", a, b, c)
	}
	if u := usagesFor(key); !slices.Equal(u, []string{"digital signature", "client auth"}) {
		t.Errorf("an ECDSA key's usages: %q", u)
	}
}

// fakeRequests is an apiserver with an approving, signing controller.
type fakeRequests struct {
	t       *testing.T
	ca      *ca
	created []*certificatesv1.CertificateSigningRequest
	life    time.Duration
}

func (f *fakeRequests) Create(_ context.Context, r *certificatesv1.CertificateSigningRequest, _ client.WriteOptions) (*certificatesv1.CertificateSigningRequest, error) {
	r.Metadata.Name, r.Metadata.Uid = "csr-1", "uid-1"
	r.Status = &certificatesv1.CertificateSigningRequestStatus{
		Conditions:  []*certificatesv1.CertificateSigningRequestCondition{{Type: "Approved", Status: "True"}},
		Certificate: f.ca.sign(f.t, r.Spec.Request, time.Now().Add(-time.Minute), time.Now().Add(f.life)),
	}
	f.created = append(f.created, r)
	return r, nil
}

func (f *fakeRequests) Get(_ context.Context, name string) (*certificatesv1.CertificateSigningRequest, error) {
	return f.created[len(f.created)-1], nil
}

func (f *fakeRequests) Watch(context.Context, client.ListOptions) (client.Watcher[*certificatesv1.CertificateSigningRequest], error) {
	return nil, &client.StatusError{Status: &metav1.Status{Reason: "InternalError"}}
}

// TestRotation: the deadline falls at 70-90% of the lifetime, and a
// rotation stores a certificate for a new key of the same node and tells
// the connections to go.
func TestRotation(t *testing.T) {
	c := newCA(t)
	s := NewStore(t.TempDir())
	reqs := &fakeRequests{t: t, ca: c, life: time.Hour}
	rotated := 0
	r := &Rotator{Store: s, NodeName: "n1", Requests: reqs, Rotated: func() { rotated++ }}
	if err := r.rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	first, err := s.Current()
	if err != nil || rotated != 1 {
		t.Fatalf("after a rotation: %v, rotated %d", err, rotated)
	}
	got := reqs.created[0]
	req, _ := csr.ParseRequest(got.GetSpec().GetRequest())
	if req.Subject.CommonName != "system:node:n1" || !slices.Equal(req.Subject.Organization, []string{"system:nodes"}) ||
		got.GetSpec().GetSignerName() != csr.KubeAPIServerClientKubelet || got.GetMetadata().GetName() != "csr-1" || got.GetMetadata().GetGenerateName() != "csr-" {
		t.Errorf("asked for %v", got)
	}
	if err := r.rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, _ := s.Current()
	if first.Leaf.Equal(second.Leaf) || rotated != 2 {
		t.Error("the second rotation did not replace the certificate")
	}
	total := second.Leaf.NotAfter.Sub(second.Leaf.NotBefore)
	for range 100 {
		d := r.Deadline(second).Sub(second.Leaf.NotBefore)
		if d < total*7/10 || d > total*9/10 {
			t.Fatalf("deadline at %v of %v", d, total)
		}
	}
}

// TestDialerCloseAll: the connections a dialer made are closed, and the
// peer sees them go.
func TestDialerCloseAll(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var d Dialer
	for range 2 {
		if _, err := d.DialContext(context.Background(), ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
	}
	d.CloseAll()
	for range 2 {
		c := <-accepted
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("a connection stayed open")
		}
	}
}

// TestKubeconfigKeepsEndpoints: the kubeconfig a bootstrapped kubelet
// writes names the further apiservers its bootstrap kubeconfig named.
func TestKubeconfigKeepsEndpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubelet.kubeconfig")
	boot := client.Config{Address: "10.0.0.11:6443", Endpoints: []string{"10.0.0.12:6443", "10.0.0.13:6443"}}
	if err := writeKubeconfig(path, boot, filepath.Join(t.TempDir(), "current.pem")); err != nil {
		t.Fatal(err)
	}
	cfg, err := client.FromKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Address != boot.Address || !slices.Equal(cfg.Endpoints, boot.Endpoints) {
		t.Errorf("address %q endpoints %q, want %q %q", cfg.Address, cfg.Endpoints, boot.Address, boot.Endpoints)
	}
}
