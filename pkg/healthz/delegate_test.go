package healthz

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeReviewer answers as an apiserver would: tokens name users, rules
// say who may do what. It counts the reviews it answers.
type fakeReviewer struct {
	mu       sync.Mutex
	users    map[string]User // by token
	allowed  map[string]bool // "user verb path"
	reason   string
	tokenErr error // the review cannot be made
	sarErr   error
	tokens   int
	sars     []Attributes
}

func (f *fakeReviewer) ReviewToken(_ context.Context, token string) (User, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens++
	if f.tokenErr != nil {
		return User{}, false, f.tokenErr
	}
	u, ok := f.users[token]
	return u, ok, nil
}

func (f *fakeReviewer) Authorize(_ context.Context, u User, a Attributes) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sars = append(f.sars, a)
	if f.sarErr != nil {
		return false, "", f.sarErr
	}
	return f.allowed[u.Name+" "+a.Verb+" "+a.Path], f.reason, nil
}

func (f *fakeReviewer) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens, len(f.sars)
}

func newFake() *fakeReviewer {
	return &fakeReviewer{
		users: map[string]User{
			"admin-token":   {Name: "skiff-admin", Groups: []string{"system:masters"}},
			"monitor-token": {Name: "prometheus", Groups: []string{"system:monitoring"}},
			"bob-token":     {Name: "bob"},
		},
		allowed: map[string]bool{"prometheus get /metrics": true, "prometheus get /debug/pprof/": true},
	}
}

func metricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Add(3)
	return reg
}

// answer is what a request got.
type answer struct {
	code    int
	body    string
	message string
}

func get(t *testing.T, h http.Handler, path, token string) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var st struct{ Message string }
	_ = json.Unmarshal(rec.Body.Bytes(), &st)
	return answer{rec.Code, rec.Body.String(), st.Message}
}

func newDelegation(f *fakeReviewer) *Delegation {
	o := NewSecureServing(0)
	return o.Delegation(f, nil)
}

// TestDelegation: the health paths are anyone's; /metrics and the
// profiles need a token the apiserver accepts and a user it authorizes,
// with Kubernetes' 401 and 403 otherwise.
func TestDelegation(t *testing.T) {
	f := newFake()
	h := newDelegation(f).Wrap(Handler(metricsRegistry(), true))

	for _, tc := range []struct {
		name, path, token string
		code              int
		want              string // in the body, or the Status message
	}{
		{"anonymous health", "/healthz", "", 200, "ok"},
		{"anonymous liveness", "/livez", "", 200, "ok"},
		{"anonymous readiness", "/readyz", "", 200, "ok"},
		{"anonymous metrics", "/metrics", "", 403, `forbidden: User "system:anonymous" cannot get path "/metrics"`},
		{"anonymous profiles", "/debug/pprof/", "", 403, `forbidden: User "system:anonymous" cannot get path "/debug/pprof/"`},
		{"bad token on metrics", "/metrics", "forged", 401, "Unauthorized"},
		{"bad token on health", "/healthz", "forged", 401, "Unauthorized"},
		{"unauthorized user", "/metrics", "bob-token", 403, `forbidden: User "bob" cannot get path "/metrics"`},
		{"authorized user", "/metrics", "monitor-token", 200, "things_total 3"},
		{"authorized user, profiles", "/debug/pprof/", "monitor-token", 200, "goroutine"},
		{"authorized for one path only", "/debug/pprof/heap", "monitor-token", 403, `forbidden: User "prometheus" cannot get path "/debug/pprof/heap"`},
		{"system:masters without asking", "/metrics", "admin-token", 200, "things_total 3"},
		{"system:masters, unknown path", "/nothing", "admin-token", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := get(t, h, tc.path, tc.token)
			if got.code != tc.code || tc.code == 200 && !strings.Contains(got.body, tc.want) || tc.code >= 400 && tc.code != 404 && got.message != tc.want {
				t.Errorf("GET %s: %d %s, want %d %q", tc.path, got.code, got.body, tc.code, tc.want)
			}
		})
	}
	for _, a := range f.sars {
		if a.Verb != "get" || a.ResourceRequest {
			t.Errorf("asked about %+v, want non-resource gets", a)
		}
	}

	// The refusal carries the apiserver's reason, as a Kubernetes Status.
	f2 := newFake()
	f2.reason = "no RBAC policy matched"
	got := get(t, newDelegation(f2).Wrap(Handler(metricsRegistry(), false)), "/metrics", "bob-token")
	var st map[string]any
	_ = json.Unmarshal([]byte(got.body), &st)
	if got.code != 403 || st["kind"] != "Status" || st["apiVersion"] != "v1" || st["reason"] != "Forbidden" || st["status"] != "Failure" ||
		st["code"] != 403.0 || fmt.Sprint(st["details"]) != "map[]" ||
		st["message"] != `forbidden: User "bob" cannot get path "/metrics": no RBAC policy matched` {
		t.Errorf("refusal: %d %s", got.code, got.body)
	}
	got = get(t, newDelegation(f2).Wrap(Handler(metricsRegistry(), false)), "/metrics", "forged")
	if err := json.Unmarshal([]byte(got.body), &st); err != nil || st["reason"] != "Unauthorized" || st["code"] != 401.0 {
		t.Errorf("401: %s", got.body)
	}

	// Without profiling there are no profiles, whoever asks.
	if got := get(t, newDelegation(newFake()).Wrap(Handler(metricsRegistry(), false)), "/debug/pprof/", "monitor-token"); got.code != 404 {
		t.Errorf("profiles without --profiling: %d", got.code)
	}
}

// TestDelegationCaches: answers are kept for their TTLs, so repeated
// scrapes cost no reviews until they expire; a review that could not be
// made is not kept, and one that cannot be asked is a 500.
func TestDelegationCaches(t *testing.T) {
	f := newFake()
	d := newDelegation(f)
	h := d.Wrap(Handler(metricsRegistry(), false))
	now := time.Now()
	clock := func() time.Time { return now }
	d.tokens.now, d.decisions.now = clock, clock

	for range 3 {
		if got := get(t, h, "/metrics", "monitor-token"); got.code != 200 {
			t.Fatalf("scrape: %d %s", got.code, got.body)
		}
		if got := get(t, h, "/metrics", "bob-token"); got.code != 403 {
			t.Fatalf("bob: %d %s", got.code, got.body)
		}
	}
	if tokens, sars := f.counts(); tokens != 2 || sars != 2 {
		t.Errorf("3 scrapes each asked %d token and %d access reviews, want 2 and 2", tokens, sars)
	}
	// A token the apiserver refused without a reason is kept as refused.
	get(t, h, "/metrics", "forged")
	get(t, h, "/metrics", "forged")
	if tokens, _ := f.counts(); tokens != 3 {
		t.Errorf("a refused token was reviewed %d times in all, want once more", tokens-2)
	}

	now = now.Add(10*time.Second + time.Millisecond)
	get(t, h, "/metrics", "monitor-token")
	if tokens, sars := f.counts(); tokens != 4 || sars != 3 {
		t.Errorf("after the TTL: %d token and %d access reviews, want 4 and 3", tokens, sars)
	}

	// The apiserver cannot be reached: 401 for a new token, every time.
	f.tokenErr = errors.New("connection refused")
	for range 2 {
		if got := get(t, h, "/metrics", "new-token"); got.code != 401 {
			t.Errorf("token review failing: %d %s", got.code, got.body)
		}
	}
	if tokens, _ := f.counts(); tokens != 6 {
		t.Errorf("a failed review was kept: %d reviews", tokens)
	}
	// A kept answer still serves.
	if got := get(t, h, "/metrics", "monitor-token"); got.code != 200 {
		t.Errorf("cached user: %d", got.code)
	}
	f.tokenErr = nil
	f.sarErr = errors.New("deadline exceeded")
	if got := get(t, h, "/debug/pprof/", "monitor-token"); got.code != 500 || got.message != "Internal error occurred: deadline exceeded" {
		t.Errorf("access review failing: %d %s", got.code, got.body)
	}
}

// TestDelegationResourceAttributes: a server that maps its paths onto an
// API resource asks about that, and refuses with Kubernetes' message for
// a resource.
func TestDelegationResourceAttributes(t *testing.T) {
	f := newFake()
	d := newDelegation(f)
	d.Attributes = func(r *http.Request) Attributes {
		return Attributes{Verb: "get", Path: r.URL.Path, ResourceRequest: true, APIVersion: "v1", Resource: "nodes", Subresource: "metrics", Name: "n1"}
	}
	got := get(t, d.Wrap(Handler(metricsRegistry(), false)), "/metrics", "bob-token")
	want := `nodes "n1" is forbidden: User "bob" cannot get resource "nodes/metrics" in API group "" at the cluster scope`
	if got.code != 403 || got.message != want {
		t.Errorf("got %d %q, want 403 %q", got.code, got.message, want)
	}
	if len(f.sars) != 1 || !f.sars[0].ResourceRequest || f.sars[0].Subresource != "metrics" {
		t.Errorf("asked %+v", f.sars)
	}
}

// TestSecureServing: the secure port speaks TLS with a self-signed
// certificate for loopback, and takes client certificates signed by
// --client-ca-file (a refused one falls back to the token, else 401).
func TestSecureServing(t *testing.T) {
	dir := t.TempDir()
	caKey, caCert := newCA(t)
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	o := NewSecureServing(0)
	o.ClientCAFile = caFile
	cfg, err := o.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	srv := httptest.NewUnstartedServer(o.Delegation(f, cfg.ClientCAs).Wrap(Handler(metricsRegistry(), false)))
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()

	leaf := cfg.Certificates[0].Leaf
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("self-signed certificate: %v", err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Errorf("self-signed certificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	call := func(cert *tls.Certificate, token string) int {
		t.Helper()
		tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	f.allowed["scraper get /metrics"] = true
	good := clientCert(t, caKey, caCert, "scraper", "ops")
	otherKey, otherCA := newCA(t)
	forged := clientCert(t, otherKey, otherCA, "scraper")
	masters := clientCert(t, caKey, caCert, "root", "system:masters")
	for _, tc := range []struct {
		name  string
		cert  *tls.Certificate
		token string
		want  int
	}{
		{"certificate of an authorized user", &good, "", 200},
		{"certificate of system:masters", &masters, "", 200},
		{"certificate of another CA", &forged, "", 401},
		{"certificate of another CA, good token", &forged, "monitor-token", 200},
		{"token", nil, "monitor-token", 200},
		{"nothing", nil, "", 403},
	} {
		if got := call(tc.cert, tc.token); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if f.tokens != 1 {
		t.Errorf("%d token reviews, want 1 (certificates need none)", f.tokens)
	}
}

// TestSecureServingFlags: the flags check what they can.
func TestSecureServingFlags(t *testing.T) {
	o := NewSecureServing(10259)
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.SecurePort, o.BindAddress, o.CertFile, o.TokenCacheTTL = 70000, "localhost", "x.crt", -time.Second
	err := o.Validate()
	for _, want := range []string{"--secure-port 70000", "--bind-address", "--tls-cert-file and --tls-private-key-file", "--authentication-token-webhook-cache-ttl"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestTTLCacheIsBounded(t *testing.T) {
	c := newTTLCache[int](3)
	for i := range 10 {
		c.put(fmt.Sprint(i), i, time.Minute)
	}
	if len(c.entries) > 3 {
		t.Errorf("%d entries, want at most 3", len(c.entries))
	}
	if v, ok := c.get("9"); !ok || v != 9 {
		t.Errorf("the last entry: %d %v", v, ok)
	}
}

func newCA(t *testing.T) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

func clientCert(t *testing.T, caKey *ecdsa.PrivateKey, ca *x509.Certificate, user string, groups ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: user, Organization: groups},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func tlsSkipVerify() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // a self-signed test server
}
