package framework

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// NodeKubeconfig is a kubeconfig for the kubelet of node name: a client
// certificate for system:node:<name> in group system:nodes, signed by the
// apiserver's CA, as kubeadm writes a control-plane node's kubelet.conf.
// The Node authorizer and NodeRestriction then hold the kubelet to its own
// node.
func (s *APIServer) NodeKubeconfig(t testing.TB, name string) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(s.DataDir, "pki", "ca.crt"), filepath.Join(s.DataDir, "pki", "ca.key"))
	if err != nil {
		t.Fatalf("node %s: the apiserver's CA: %v", name, err)
	}
	caKey, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("node %s: the CA key is a %T, want ECDSA", name, pair.PrivateKey)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "system:node:" + name, Organization: []string{"system:nodes"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pair.Leaf, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(s.DataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(typ string, der []byte) string {
		return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: system:node:%s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: skiff
  context: {cluster: skiff, user: "system:node:%s"}
current-context: skiff
`, s.URL(), base64.StdEncoding.EncodeToString(caPEM), name, b64("CERTIFICATE", der), b64("EC PRIVATE KEY", keyDER), name)
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
