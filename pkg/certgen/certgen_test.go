package certgen

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestIssueAndCheck: a certificate the CA issues loads back, verifies
// against the CA, covers exactly the hosts it was made for, and is not
// expiring; a missing pair is os.ErrNotExist.
func TestIssueAndCheck(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	ca, caKey, err := NewCA(p("ca.crt"), p("ca.key"), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	AddHosts(tmpl, []string{"127.0.0.1", "localhost"})
	if err := Issue(p("leaf.crt"), p("leaf.key"), tmpl, ca, caKey); err != nil {
		t.Fatal(err)
	}
	leaf, _, err := LoadPair(p("leaf.crt"), p("leaf.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("not signed by the CA: %v", err)
	}
	if st, err := os.Stat(p("leaf.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	tests := []struct {
		hosts []string
		want  bool
	}{
		{[]string{"127.0.0.1"}, true},
		{[]string{"localhost", "127.0.0.1"}, true},
		{[]string{"etcd"}, false},
		{[]string{"::1"}, false},
	}
	for _, tc := range tests {
		if got := Covers(leaf, tc.hosts); got != tc.want {
			t.Errorf("Covers(%v) = %v, want %v", tc.hosts, got, tc.want)
		}
	}
	if Expiring(leaf) || !Expiring(&x509.Certificate{NotAfter: time.Now().Add(time.Hour)}) {
		t.Error("Expiring wrong")
	}
	if _, _, err := LoadPair(p("none.crt"), p("none.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing pair: %v, want ErrNotExist", err)
	}
}
