package chartpki

import (
	"crypto/x509"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"skiff.dev/pkg/certgen"
)

var testConfig = Config{
	Release: "cp", Namespace: "hosting", ClusterDomain: "cluster.local", EtcdReplicas: 3,
	APIServerHosts: []string{"10.89.0.200", "skiff.example.org"}, ServiceClusterIPRange: "10.96.0.0/12",
	Server: "https://cp-apiserver.hosting.svc:6443", ExternalServer: "https://10.89.0.200:6443",
}

func load(t *testing.T, dir, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	cert, _, err := certgen.LoadPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestGenerateNamesAndUsages: every certificate is signed by its CA, for
// the use it is put to, and covers the names it is dialled by.
func TestGenerateNamesAndUsages(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, testConfig); err != nil {
		t.Fatal(err)
	}
	etcdCA, ca := load(t, dir, "etcd/ca.crt", "etcd/ca.key"), load(t, dir, "pki/ca.crt", "pki/ca.key")
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth
	tests := []struct {
		name      string
		cert, key string
		ca        *x509.Certificate
		usages    []x509.ExtKeyUsage
		hosts     []string
		cn        string
	}{
		{"etcd serving", "etcd/server.crt", "etcd/server.key", etcdCA, []x509.ExtKeyUsage{server, client},
			[]string{"cp-etcd-0.cp-etcd.hosting.svc.cluster.local", "cp-etcd-2.cp-etcd.hosting.svc", "cp-etcd-1.cp-etcd", "cp-etcd.hosting.svc", "127.0.0.1"}, ""},
		{"etcd peer", "etcd/peer.crt", "etcd/peer.key", etcdCA, []x509.ExtKeyUsage{server, client},
			[]string{"cp-etcd-0.cp-etcd.hosting.svc.cluster.local", "cp-etcd-2.cp-etcd.hosting.svc"}, ""},
		{"apiserver etcd client", "etcd/apiserver-etcd-client.crt", "etcd/apiserver-etcd-client.key", etcdCA, []x509.ExtKeyUsage{client}, nil, ""},
		{"apiserver serving", "pki/apiserver.crt", "pki/apiserver.key", ca, []x509.ExtKeyUsage{server},
			[]string{"cp-apiserver", "cp-apiserver.hosting.svc", "cp-apiserver.hosting.svc.cluster.local", "kubernetes.default.svc", "10.96.0.1", "10.89.0.200", "skiff.example.org"}, ""},
		{"apiserver kubelet client", "pki/apiserver-kubelet-client.crt", "pki/apiserver-kubelet-client.key", ca, []x509.ExtKeyUsage{client}, nil, "skiff-apiserver-kubelet-client"},
		{"scheduler", "pki/scheduler.crt", "pki/scheduler.key", ca, []x509.ExtKeyUsage{client}, nil, "system:kube-scheduler"},
		{"controller-manager", "pki/controller-manager.crt", "pki/controller-manager.key", ca, []x509.ExtKeyUsage{client}, nil, "system:kube-controller-manager"},
		{"cloud-controller", "pki/cloud-controller.crt", "pki/cloud-controller.key", ca, []x509.ExtKeyUsage{client}, nil, "system:cloud-controller-manager"},
		{"proxy", "pki/proxy.crt", "pki/proxy.key", ca, []x509.ExtKeyUsage{client}, nil, "system:kube-proxy"},
		{"admin", "pki/admin.crt", "pki/admin.key", ca, []x509.ExtKeyUsage{client}, nil, "skiff-admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := load(t, dir, tt.cert, tt.key)
			if err := cert.CheckSignatureFrom(tt.ca); err != nil {
				t.Errorf("not signed by %s: %v", tt.ca.Subject.CommonName, err)
			}
			if !slices.Equal(cert.ExtKeyUsage, tt.usages) {
				t.Errorf("extended key usages %v, want %v", cert.ExtKeyUsage, tt.usages)
			}
			if cert.KeyUsage != x509.KeyUsageDigitalSignature || cert.IsCA {
				t.Errorf("key usage %v, CA %v: want a digital-signature leaf", cert.KeyUsage, cert.IsCA)
			}
			if !certgen.Covers(cert, tt.hosts) {
				t.Errorf("names %v %v do not cover %v", cert.DNSNames, cert.IPAddresses, tt.hosts)
			}
			if tt.cn != "" && cert.Subject.CommonName != tt.cn {
				t.Errorf("common name %q, want %q", cert.Subject.CommonName, tt.cn)
			}
		})
	}
	if admin := load(t, dir, "pki/admin.crt", "pki/admin.key"); !slices.Equal(admin.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("admin organizations %v, want system:masters", admin.Subject.Organization)
	}
}

// TestKubeconfigs: the components' kubeconfigs name the in-cluster
// Service, the admin's and the node bootstrap's the outside address,
// each with Skiff's CA and its own credential.
func TestKubeconfigs(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, testConfig); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "pki/ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dir, nodeTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"scheduler": testConfig.Server, "controller-manager": testConfig.Server, "cloud-controller": testConfig.Server,
		"proxy": testConfig.ExternalServer, "admin": testConfig.ExternalServer, "node-bootstrap": testConfig.ExternalServer} {
		cfg, err := clientcmd.LoadFromFile(filepath.Join(dir, kubeconfigFile(name)))
		if err != nil {
			t.Fatal(err)
		}
		cluster, user := cfg.Clusters["skiff"], cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
		if cluster.Server != want || string(cluster.CertificateAuthorityData) != string(caPEM) {
			t.Errorf("%s: server %s (want %s), CA given: %v", name, cluster.Server, want, string(cluster.CertificateAuthorityData) == string(caPEM))
		}
		if name == "node-bootstrap" {
			if user.Token != string(token) || len(user.ClientCertificateData) != 0 {
				t.Errorf("node-bootstrap: token %q, want %q and no certificate", user.Token, token)
			}
		} else if len(user.ClientCertificateData) == 0 || len(user.ClientKeyData) == 0 || user.Token != "" {
			t.Errorf("%s: want a client certificate and key, no token", name)
		}
	}
}

// TestGenerateKeeps: a second Generate over the same directory changes
// nothing, and one with a new host reissues only the serving certificate.
func TestGenerateKeeps(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, testConfig); err != nil {
		t.Fatal(err)
	}
	before := readAll(t, dir)
	if err := Generate(dir, testConfig); err != nil {
		t.Fatal(err)
	}
	if after := readAll(t, dir); !maps.Equal(before, after) {
		t.Error("a second Generate changed files")
	}
	more := testConfig
	more.APIServerHosts = append(slices.Clone(more.APIServerHosts), "10.89.0.201")
	if err := Generate(dir, more); err != nil {
		t.Fatal(err)
	}
	after := readAll(t, dir)
	for f := range before {
		if changed := before[f] != after[f]; changed != (f == "pki/apiserver.crt" || f == "pki/apiserver.key") {
			t.Errorf("%s changed: %v", f, changed)
		}
	}
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestValidate refuses an even etcd and a missing name.
func TestValidate(t *testing.T) {
	for _, c := range []Config{{Namespace: "n", EtcdReplicas: 3, ServiceClusterIPRange: "10.96.0.0/12"},
		{Release: "r", Namespace: "n", EtcdReplicas: 2, ServiceClusterIPRange: "10.96.0.0/12"},
		{Release: "r", Namespace: "n", EtcdReplicas: 3, ServiceClusterIPRange: "nope"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := testConfig.Validate(); err != nil {
		t.Error(err)
	}
}

// TestSecretLabels: the Secrets carry the release's name as their
// instance, as every object of the chart does, not the fullname.
func TestSecretLabels(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Name: "cp-node-bootstrap", Files: map[string]string{"token": "token"}}
	c := testConfig
	c.Instance = "hosted"
	s, err := secretFrom(dir, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Labels["app.kubernetes.io/instance"]; got != "hosted" || s.Labels[GeneratedLabel] != generator {
		t.Errorf("labels %v, want instance hosted and %s", s.Labels, GeneratedLabel)
	}
	c.Instance = ""
	if s, err := secretFrom(dir, c, spec); err != nil || s.Labels["app.kubernetes.io/instance"] != "" {
		t.Errorf("no instance given: labels %v, %v; want no instance label", s.Labels, err)
	}
}

// TestRefuseOrphans: a CA's Secret deleted while Secrets it signed stay
// is refused, naming them; with those gone too, or the CA there, it is
// not.
func TestRefuseOrphans(t *testing.T) {
	all := map[string]bool{}
	for _, s := range testConfig.Secrets() {
		all[s.Name] = true
	}
	missing := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	err := testConfig.refuseOrphans(missing("cp-ca"))
	if err == nil || !strings.Contains(err.Error(), "cp-apiserver-certs, cp-node-bootstrap, cp-") || !strings.Contains(err.Error(), "restore cp-ca") {
		t.Errorf("cp-ca missing, the rest kept: %v", err)
	}
	if err := testConfig.refuseOrphans(missing("cp-etcd-ca", "cp-etcd-certs")); err == nil || !strings.Contains(err.Error(), "but cp-apiserver-certs hold") {
		t.Errorf("cp-etcd-ca missing, cp-apiserver-certs kept: %v", err)
	}
	for name, m := range map[string]map[string]bool{
		"a kubeconfig":              missing("cp-admin-kubeconfig"),
		"the etcd CA and its certs": missing("cp-etcd-ca", "cp-etcd-certs", "cp-apiserver-certs"),
	} {
		if err := testConfig.refuseOrphans(m); err != nil {
			t.Errorf("%s missing: %v", name, err)
		}
	}
	if err := testConfig.refuseOrphans(all); err != nil {
		t.Errorf("everything missing (a first install): %v", err)
	}
}

// TestNodeTokenExpires: a new node bootstrap token gets an expiration
// NodeTokenTTL ahead (none with 0), and the Secret this package made is
// replaced once it has expired, or when it has none while tokens are to
// expire; one the user brought never is.
func TestNodeTokenExpires(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	c := testConfig
	c.NodeTokenTTL, c.Now = 24*time.Hour, func() time.Time { return now }
	dir := t.TempDir()
	if err := Generate(dir, c); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, nodeTokenExpirationFile)); err != nil || string(b) != "2026-12-08T10:00:00Z" {
		t.Errorf("expiration %q, %v; want a day later", b, err)
	}
	never := testConfig
	neverDir := t.TempDir()
	if err := Generate(neverDir, never); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(neverDir, nodeTokenExpirationFile)); err != nil || len(b) != 0 {
		t.Errorf("with no TTL: expiration %q, %v; want empty", b, err)
	}

	secret := func(generated bool, expiration string, has bool) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cp-node-bootstrap", Labels: map[string]string{}}, Data: map[string][]byte{}}
		if generated {
			s.Labels[GeneratedLabel] = generator
		}
		if has {
			s.Data[NodeTokenExpirationKey] = []byte(expiration)
		}
		return s
	}
	for _, tt := range []struct {
		name string
		s    *corev1.Secret
		ttl  time.Duration
		want bool
	}{
		{"valid", secret(true, "2026-12-07T11:00:00Z", true), time.Hour, false},
		{"expired", secret(true, "2026-12-07T10:00:00Z", true), time.Hour, true},
		{"never, tokens expire now", secret(true, "", true), time.Hour, true},
		{"made before tokens expired", secret(true, "", false), time.Hour, true},
		{"expired, the user's", secret(false, "2026-12-07T09:00:00Z", true), time.Hour, false},
		{"expired, no TTL asked", secret(true, "2026-12-07T09:00:00Z", true), 0, false},
	} {
		c.NodeTokenTTL = tt.ttl
		if got := c.expiredNodeToken(tt.s); got != tt.want {
			t.Errorf("%s: expired %v, want %v", tt.name, got, tt.want)
		}
	}
	other := secret(true, "2026-12-07T09:00:00Z", true)
	other.Name = "cp-ca"
	if c.NodeTokenTTL = time.Hour; c.expiredNodeToken(other) {
		t.Error("another Secret counts as an expired token")
	}
}
