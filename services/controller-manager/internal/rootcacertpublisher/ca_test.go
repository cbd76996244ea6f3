package rootcacertpublisher

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff.dev/pkg/clock"
)

// newCA is a self-signed CA certificate, PEM-encoded.
func newCA(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestCheckBundle(t *testing.T) {
	a, b := string(newCA(t, "a")), string(newCA(t, "b"))
	key := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}))
	for _, c := range []struct {
		name, data string
		wantErr    string // a part of the error; "" for none
	}{
		{"one certificate", a, ""},
		{"a bundle", a + b, ""},
		{"text before and between", "# ours\n" + a + "\n# theirs\n" + b, ""},
		{"empty", "", "no PEM certificate"},
		{"not PEM", "hello", "no PEM certificate"},
		{"a private key too", a + key, `a "EC PRIVATE KEY" PEM block`},
		{"cut short", a + b[:len(b)/2], "data after the last PEM block"},
		{"a broken certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}})), "certificate 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkBundle([]byte(c.data))
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("got %v, want an error with %q", err, c.wantErr)
			}
		})
	}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "a")
	good, bad := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "bad.crt")
	writeFile(t, good, ca)
	writeFile(t, bad, []byte("nope"))
	if got, err := FileSource(good)(); err != nil || string(got) != string(ca) {
		t.Errorf("a CA file: got %q, %v; want its content", got, err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.crt")} {
		if _, err := FileSource(path)(); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want an error naming the file", path, err)
		}
	}
}

func TestKubeconfigSource(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "a")
	caFile := filepath.Join(dir, "ca.crt")
	writeFile(t, caFile, ca)
	for _, c := range []struct {
		name, cluster string
		want          string
	}{
		{"certificate-authority-data", "certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca), string(ca)},
		{"certificate-authority", "certificate-authority: " + caFile, string(ca)},
		{"system roots", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "kubeconfig")
			writeFile(t, path, []byte(`clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
    `+c.cluster+`
contexts:
- name: c
  context: {cluster: c}
current-context: c
`))
			got, err := KubeconfigSource(path)()
			if err != nil || string(got) != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// varSource is a Source tests change.
type varSource struct {
	mu   sync.Mutex
	data string
	err  error
}

func (v *varSource) set(data string, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.data, v.err = data, err
}

func (v *varSource) read() ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return []byte(v.data), v.err
}

// TestFollow steps a fake clock through a change, a failed read (the
// last good bundle stays) and another change.
func TestFollow(t *testing.T) {
	src := &varSource{data: "A"}
	b, err := newBundle(src.read)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Unix(0, 0))
	changes := make(chan string, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.follow(ctx, clk, time.Second, func() { changes <- b.get() }); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	// tick lets one period pass and waits until follow has looked and
	// waits for the next one.
	tick := func() {
		t.Helper()
		waitFor(t, "follow waits", func() bool { return clk.Waiters() == 1 })
		clk.Step(time.Second)
		waitFor(t, "follow looked and waits again", func() bool { return clk.Waiters() == 1 })
	}
	for _, step := range []struct {
		data, want string // want "": no change reported
		err        error
	}{
		{"A", "", nil},
		{"B", "B", nil},
		{"C", "", errors.New("unreadable")},
		{"C", "C", nil},
	} {
		src.set(step.data, step.err)
		tick()
		select {
		case got := <-changes:
			if got != step.want {
				t.Fatalf("source %q (err %v): change to %q, want %q", step.data, step.err, got, step.want)
			}
		default:
			if step.want != "" {
				t.Fatalf("source %q: no change reported, want one to %q", step.data, step.want)
			}
		}
	}
	if got := b.get(); got != "C" {
		t.Fatalf("bundle: got %q, want C", got)
	}
}

func TestNewBundleNeedsASource(t *testing.T) {
	src := &varSource{err: errors.New("no such file")}
	if _, err := newBundle(src.read); err == nil {
		t.Fatal("got a bundle from a source that fails, want the error")
	}
}

// waitFor polls cond until it holds, for at most ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("%s: not within 10s", what)
		case <-tick.C:
		}
	}
}
