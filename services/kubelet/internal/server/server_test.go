package server

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
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/services/kubelet/internal/cri"
)

// fakeRuntime lists containers and their statuses; nothing else.
type fakeRuntime struct {
	cri.Runtime
	containers []*runtimeapi.Container
	logs       map[string]string // container id -> log path
}

func (f *fakeRuntime) ListContainers(_ context.Context, r *runtimeapi.ListContainersRequest, _ ...grpc.CallOption) (*runtimeapi.ListContainersResponse, error) {
	var out []*runtimeapi.Container
next:
	for _, c := range f.containers {
		for k, v := range r.GetFilter().GetLabelSelector() {
			if c.GetLabels()[k] != v {
				continue next
			}
		}
		out = append(out, c)
	}
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}

func (f *fakeRuntime) ContainerStatus(_ context.Context, r *runtimeapi.ContainerStatusRequest, _ ...grpc.CallOption) (*runtimeapi.ContainerStatusResponse, error) {
	for _, c := range f.containers {
		if c.GetId() == r.GetContainerId() {
			return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: c.GetId(), State: c.GetState(), LogPath: f.logs[c.GetId()]}}, nil
		}
	}
	return nil, io.EOF
}

func container(id, uid string, attempt uint32, state runtimeapi.ContainerState, created int64) *runtimeapi.Container {
	return &runtimeapi.Container{Id: id, State: state, CreatedAt: created,
		Metadata: &runtimeapi.ContainerMetadata{Name: "app", Attempt: attempt},
		Labels:   map[string]string{labelNode: "n1", labelPodNamespace: "ns", labelPodName: "web", labelPodUID: uid, labelContainerName: "app"}}
}

// pki is a test CA with a client certificate it signed.
type pki struct {
	caFile string
	client tls.Certificate
}

func newPKI(t *testing.T) pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "apiserver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return pki{caFile: caFile, client: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// start serves s on a test listener; the returned client shows cert
// (none when nil).
func start(t *testing.T, s *Server, cert *tls.Certificate) (string, *http.Client) {
	t.Helper()
	ts := httptest.NewUnstartedServer(s.handler)
	ts.TLS = s.tls
	ts.StartTLS()
	t.Cleanup(ts.Close)
	tc := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return ts.URL, &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestAuthentication(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	rt := &fakeRuntime{}
	for _, tc := range []struct {
		name     string
		caFile   string
		cert     *tls.Certificate
		wantCode int
	}{
		{name: "no client CA refuses everybody", cert: &p.client, wantCode: http.StatusForbidden},
		{name: "no certificate", caFile: p.caFile, wantCode: http.StatusUnauthorized},
		{name: "certificate of the client CA", caFile: p.caFile, cert: &p.client, wantCode: http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{NodeName: "n1", NodeIP: "10.0.0.1", PKIDir: t.TempDir(), ClientCAFile: tc.caFile, Runtime: rt})
			if err != nil {
				t.Fatal(err)
			}
			url, c := start(t, s, tc.cert)
			code, body := get(t, c, url+"/nothing")
			if code != tc.wantCode {
				t.Errorf("got %d %s, want %d", code, body, tc.wantCode)
			}
			var st metav1.Status
			if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" || int(st.Code) != code {
				t.Errorf("body %q: want a Status with code %d", body, code)
			}
		})
	}
	t.Run("certificate of another CA", func(t *testing.T) {
		s, err := New(Config{NodeName: "n1", PKIDir: t.TempDir(), ClientCAFile: p.caFile, Runtime: rt})
		if err != nil {
			t.Fatal(err)
		}
		url, c := start(t, s, &other.client)
		if _, err := c.Get(url + "/nothing"); err == nil {
			t.Error("a certificate of another CA was accepted")
		}
	})
}

func TestSelfSignedCertificateCoversTheNode(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{NodeName: "node-a", NodeIP: "10.1.2.3", PKIDir: dir}
	first, err := servingCertificate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"node-a", "10.1.2.3"} {
		if err := first.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "kubelet.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the serving key: %v %v, want mode 0600", fi, err)
	}
	again, err := servingCertificate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Leaf.Equal(first.Leaf) {
		t.Error("certificate made again although it covers the node")
	}
	cfg.NodeIP = "10.9.9.9"
	moved, err := servingCertificate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Leaf.VerifyHostname("10.9.9.9") != nil {
		t.Error("certificate not made again for the node's new IP")
	}
}

func writeFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestContainerLogs(t *testing.T) {
	p := newPKI(t)
	rt := &fakeRuntime{
		containers: []*runtimeapi.Container{
			container("old-pod", "uid-0", 5, runtimeapi.ContainerState_CONTAINER_EXITED, 1),
			container("first", "uid-1", 0, runtimeapi.ContainerState_CONTAINER_EXITED, 10),
			container("second", "uid-1", 1, runtimeapi.ContainerState_CONTAINER_RUNNING, 20),
		},
		logs: map[string]string{
			"old-pod": writeFile(t, "2024-05-01T10:00:00Z stdout F old pod"),
			"first":   writeFile(t, "2024-05-01T10:00:00Z stdout F first 1", "2024-05-01T10:00:01Z stderr F first 2"),
			"second":  writeFile(t, "2024-05-01T10:00:02Z stdout F second 1", "2024-05-01T10:00:03Z stdout P second ", "2024-05-01T10:00:04Z stdout F 2"),
		},
	}
	s, err := New(Config{NodeName: "n1", PKIDir: t.TempDir(), ClientCAFile: p.caFile, Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	base, c := start(t, s, &p.client)
	for _, tc := range []struct {
		query    string
		wantCode int
		want     string
	}{
		{query: "", wantCode: 200, want: "second 1\nsecond 2\n"},
		{query: "?tailLines=1", wantCode: 200, want: "second 2\n"},
		{query: "?previous=true", wantCode: 200, want: "first 1\nfirst 2\n"},
		{query: "?timestamps=true&tailLines=1", wantCode: 200, want: "2024-05-01T10:00:03.000000000Z second 2\n"},
		{query: "?sinceTime=2024-05-01T10:00:03Z", wantCode: 200, want: "second 2\n"},
		{query: "?limitBytes=3", wantCode: 200, want: "sec"},
		{query: "?tailLines=-1", wantCode: 400, want: "tailLines"},
		{query: "?sinceTime=yesterday", wantCode: 400, want: "sinceTime"},
		{query: "?sinceSeconds=5&sinceTime=2024-05-01T10:00:03Z", wantCode: 400, want: "at most one"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, body := get(t, c, base+"/containerLogs/ns/web/app"+tc.query)
			if code != tc.wantCode || (code == 200 && body != tc.want) || (code != 200 && !strings.Contains(body, tc.want)) {
				t.Errorf("got %d %q, want %d %q", code, body, tc.wantCode, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		path, want string
	}{
		{"/containerLogs/ns/web/other", `container \"other\" in pod \"web\" is waiting to start`},
		{"/containerLogs/ns/nope/app", `container \"app\" in pod \"nope\" is waiting to start`},
	} {
		if code, body := get(t, c, base+tc.path); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: got %d %s, want 400 %s", tc.path, code, body, tc.want)
		}
	}
	// The newest instance ended (waiting for its restart): it is the previous one.
	rt.containers[2].State = runtimeapi.ContainerState_CONTAINER_EXITED
	if code, body := get(t, c, base+"/containerLogs/ns/web/app?previous=true"); code != 200 || body != "second 1\nsecond 2\n" {
		t.Errorf("previous while waiting for a restart: got %d %q, want the newest instance's log", code, body)
	}
	// Only one running instance: no previous one.
	rt.containers = rt.containers[2:]
	rt.containers[0].State = runtimeapi.ContainerState_CONTAINER_RUNNING
	if code, body := get(t, c, base+"/containerLogs/ns/web/app?previous=true"); code != 400 ||
		!strings.Contains(body, `previous terminated container \"app\" in pod \"web\" not found`) {
		t.Errorf("previous of a first instance: got %d %s", code, body)
	}
}

func TestExecNeedsWebSocket(t *testing.T) {
	p := newPKI(t)
	rt := &fakeRuntime{containers: []*runtimeapi.Container{container("c1", "uid-1", 0, runtimeapi.ContainerState_CONTAINER_RUNNING, 1)}}
	s, err := New(Config{NodeName: "n1", PKIDir: t.TempDir(), ClientCAFile: p.caFile, Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	base, c := start(t, s, &p.client)
	for _, tc := range []struct {
		path, want string
	}{
		{"/exec/ns/web/app?command=ls&output=1", "WebSocket"},
		{"/exec/ns/web/app?output=1", "no command"},
		{"/exec/ns/web/app?command=ls", "at least one of stdin, stdout, stderr"},
		{"/portForward/ns/web", "WebSocket"},
	} {
		if code, body := get(t, c, base+tc.path); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: got %d %s, want 400 %s", tc.path, code, body, tc.want)
		}
	}
}
