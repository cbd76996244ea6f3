package certificate

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"skiff.dev/pkg/atomicfile"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/csr"
)

// tmpKeyFile holds the key of a bootstrap request until its certificate
// comes, so a kubelet restarted meanwhile asks again with the same key (and
// finds its request by name).
const tmpKeyFile = "kubelet-client.key.tmp"

// waitForIssue is how long a bootstrapping kubelet waits for its first
// certificate.
const waitForIssue = time.Hour

// Bootstrap makes sure kubeconfig holds credentials the kubelet can use:
// when the file is missing, unreadable, without a client certificate or
// with an expired one, it asks for a client certificate of
// system:node:<nodeName> with the credentials of bootstrapKubeconfig,
// waits until it is approved and issued, stores it in certDir and writes
// kubeconfig pointing at it.
func Bootstrap(ctx context.Context, kubeconfig, bootstrapKubeconfig, certDir, nodeName string) error {
	ok, why := usable(kubeconfig, time.Now())
	if ok {
		slog.InfoContext(ctx, "the kubeconfig is usable, no bootstrap needed", "kubeconfig", kubeconfig)
		return nil
	}
	slog.InfoContext(ctx, "bootstrapping a client certificate", "kubeconfig", kubeconfig, "why", why, "bootstrap-kubeconfig", bootstrapKubeconfig)
	bootCfg, err := client.FromKubeconfig(bootstrapKubeconfig)
	if err != nil {
		return fmt.Errorf("--bootstrap-kubeconfig: %w", err)
	}
	c, err := client.New(bootCfg)
	if err != nil {
		return err
	}
	defer c.Close()
	store := NewStore(certDir)
	key, keyPEM, err := bootstrapKey(store)
	if err != nil {
		return err
	}
	certPEM, err := requestClientCertificate(ctx, c.CertificatesV1().CertificateSigningRequests(), key, nodeName, true, waitForIssue)
	if err != nil {
		return err
	}
	if _, err := store.Update(certPEM, keyPEM); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(certDir, tmpKeyFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		slog.WarnContext(ctx, "removing the bootstrap key", "err", err)
	}
	if err := writeKubeconfig(kubeconfig, bootCfg, store.CurrentPath()); err != nil {
		return err
	}
	slog.InfoContext(ctx, "client certificate issued", "node", nodeName, "kubeconfig", kubeconfig, "certificate", store.CurrentPath())
	return nil
}

// usable tells whether a kubeconfig can be used as it is: it reads, names
// a client certificate, and none of its certificates has expired.
func usable(kubeconfig string, now time.Time) (bool, string) {
	if _, err := os.Stat(kubeconfig); err != nil {
		return false, "no kubeconfig"
	}
	cfg, err := client.FromKubeconfig(kubeconfig)
	if err != nil {
		return false, err.Error()
	}
	certPEM := cfg.CertData
	if cfg.CertFile != "" {
		if certPEM, err = os.ReadFile(cfg.CertFile); err != nil {
			return false, err.Error()
		}
	}
	var certs []*x509.Certificate
	for rest := certPEM; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return false, err.Error()
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return false, "the kubeconfig has no client certificate"
	}
	for _, cert := range certs {
		if now.After(cert.NotAfter) {
			return false, fmt.Sprintf("the client certificate expired at %v", cert.NotAfter)
		}
	}
	return true, ""
}

// bootstrapKey is the key of the bootstrap request: the current pair's
// (its certificate expired), else the one a previous attempt left, else a
// new one, kept until the certificate comes.
func bootstrapKey(store *Store) (crypto.Signer, []byte, error) {
	if pair, err := store.Current(); err == nil {
		if key, ok := pair.PrivateKey.(crypto.Signer); ok {
			if der, err := x509.MarshalPKCS8PrivateKey(key); err == nil {
				return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
			}
		}
	}
	path := filepath.Join(store.Dir, tmpKeyFile)
	if data, err := os.ReadFile(path); err == nil {
		if key, err := parseKey(data); err == nil {
			return key, data, nil
		}
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(store.Dir, 0o755); err != nil {
		return nil, nil, err
	}
	if err := atomicfile.Write(path, keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	return key, keyPEM, nil
}

// newKey is a new ECDSA P-256 key, as Kubernetes' kubelet makes.
func newKey() (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func parseKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("the key cannot sign")
	}
	return signer, nil
}

// usagesFor are a kubelet client certificate's usages: digital signature
// and client auth, and key encipherment for RSA keys only.
func usagesFor(key crypto.Signer) []string {
	usages := []string{csr.UsageDigitalSignature, csr.UsageClientAuth}
	if _, isRSA := key.(*rsa.PrivateKey); isRSA {
		usages = append(usages, csr.UsageKeyEncipherment)
	}
	return usages
}

// requestClientCertificate asks for a client certificate of the node for
// key and waits for it. A bootstrap request is named after a digest of its
// key, subject and usages, so a kubelet restarted while waiting finds its
// own request again; a renewal gets a generated name.
func requestClientCertificate(ctx context.Context, requests csr.Requests, key crypto.Signer, nodeName string, named bool, wait time.Duration) ([]byte, error) {
	subject := pkix.Name{CommonName: csr.NodeUserPrefix + nodeName, Organization: []string{csr.NodesGroup}}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		return nil, fmt.Errorf("unable to generate certificate request: %w", err)
	}
	request := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	usages := usagesFor(key)
	name := ""
	if named {
		if name, err = digestedName(key.Public(), subject, usages); err != nil {
			return nil, err
		}
	}
	// The apiserver may not be up yet: ask for a minute, as Kubernetes'
	// kubelet waits for it.
	var reqName, uid string
	for deadline := time.Now().Add(time.Minute); ; {
		if reqName, uid, err = csr.Request(ctx, requests, request, name, csr.KubeAPIServerClientKubelet, 0, usages); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		slog.WarnContext(ctx, "asking for a client certificate; trying again", "err", err)
		if !sleepCtx(ctx, 2*time.Second) {
			return nil, ctx.Err()
		}
	}
	slog.InfoContext(ctx, "waiting for the client certificate", "csr", reqName)
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return csr.WaitForCertificate(wctx, requests, reqName, uid)
}

// digestedName is node-csr-<digest of the public key, subject and usages>.
func digestedName(pub crypto.PublicKey, subject pkix.Name, usages []string) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	h := sha512.New512_256()
	parts := append([][]byte{der, []byte(subject.CommonName)}, toBytes(subject.Organization)...)
	parts = append(parts, toBytes(usages)...)
	for _, p := range parts {
		h.Write([]byte(base64.RawURLEncoding.EncodeToString(p)))
		h.Write([]byte{'|'})
	}
	return "node-csr-" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)), nil
}

func toBytes(list []string) [][]byte {
	out := make([][]byte, len(list))
	for i, s := range list {
		out[i] = []byte(s)
	}
	return out
}

// writeKubeconfig writes a kubeconfig for the bootstrap kubeconfig's
// apiserver whose user is the certificate and key in pemPath.
func writeKubeconfig(path string, boot client.Config, pemPath string) error {
	abs, err := filepath.Abs(pemPath)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: default-cluster\n  cluster:\n    server: %q\n", "https://"+boot.Address)
	if len(boot.CAData) > 0 {
		fmt.Fprintf(&b, "    certificate-authority-data: %s\n", base64.StdEncoding.EncodeToString(boot.CAData))
	}
	if boot.ServerName != "" {
		fmt.Fprintf(&b, "    tls-server-name: %q\n", boot.ServerName)
	}
	// The further apiservers the bootstrap kubeconfig names stay the
	// kubelet's.
	if len(boot.Endpoints) > 0 {
		fmt.Fprintf(&b, "    extensions:\n    - name: %s\n      extension:\n        servers:\n", client.EndpointsExtension)
		for _, e := range boot.Endpoints {
			fmt.Fprintf(&b, "        - %q\n", "https://"+e)
		}
	}
	fmt.Fprintf(&b, "users:\n- name: default-auth\n  user:\n    client-certificate: %q\n    client-key: %q\n", abs, abs)
	b.WriteString("contexts:\n- name: default-context\n  context:\n    cluster: default-cluster\n    user: default-auth\n    namespace: default\n")
	b.WriteString("current-context: default-context\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(b.String()), 0o600)
}
