package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"skiff.dev/pkg/etcdpki"
)

// TestATakenPortIsNoticed: a port taken between choosing and binding
// fails the start with EADDRINUSE, which Start answers by choosing again.
func TestATakenPortIsNoticed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	peer, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	e, err := start(context.Background(), EmbedConfig{Dir: t.TempDir()}, ports{Client: taken, Peer: peer})
	if err == nil {
		e.Close()
		t.Fatal("etcd started on a taken port")
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("start on a taken port: %v, want EADDRINUSE", err)
	}
}

// TestStartKeepsItsPorts: a member that ran finds its ports again.
func TestStartKeepsItsPorts(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(context.Background(), EmbedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(dir, portsFile))
	e.Close()
	e, err = Start(context.Background(), EmbedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if again, _ := os.ReadFile(filepath.Join(dir, portsFile)); string(again) != string(first) {
		t.Errorf("ports %s after a restart, were %s", again, first)
	}
}

// TestOnlyTheApiserverReadsEtcd: the embedded member answers the client
// holding the apiserver's certificate and refuses every other way in —
// gRPC in clear or without a certificate or with one of another CA, and
// etcd's JSON gateway (/v3/kv/range) in clear or without a certificate.
func TestOnlyTheApiserverReadsEtcd(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(context.Background(), EmbedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const key, secret = "/registry/secrets/default/token", "s3cret-value"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.Client().Put(ctx, key, secret); err != nil {
		t.Fatalf("the apiserver's client writes: %v", err)
	}
	if resp, err := e.Client().Get(ctx, key); err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("the apiserver's client reads: %v %v", resp, err)
	}
	hostPort := strings.TrimPrefix(e.Endpoint(), "https://")
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(e.PKI().CACert)
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("etcd CA: %v", err)
	}
	other, err := etcdpki.Ensure(filepath.Join(t.TempDir(), "other"), loopbackHosts)
	if err != nil {
		t.Fatal(err)
	}
	otherTLS, err := other.ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	otherTLS.RootCAs = pool // trusts the member, presents a stranger's certificate

	grpcCases := []struct {
		name     string
		endpoint string
		tls      *tls.Config
	}{
		{"grpc in clear", "http://" + hostPort, nil},
		{"grpc over TLS without a certificate", e.Endpoint(), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		{"grpc with another CA's certificate", e.Endpoint(), otherTLS},
	}
	for _, tc := range grpcCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := clientv3.New(clientv3.Config{Endpoints: []string{tc.endpoint}, TLS: tc.tls,
				DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
			if err != nil {
				return // refused at dial
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if resp, err := c.Get(ctx, key); err == nil {
				t.Fatalf("read %d keys without the apiserver's credentials", len(resp.Kvs))
			}
		})
	}

	body := fmt.Sprintf(`{"key":%q}`, base64.StdEncoding.EncodeToString([]byte(key)))
	httpCases := []struct {
		name   string
		url    string
		client *http.Client
	}{
		{"gateway in clear", "http://" + hostPort + "/v3/kv/range", &http.Client{Timeout: 3 * time.Second}},
		{"gateway over TLS without a certificate", e.Endpoint() + "/v3/kv/range", &http.Client{Timeout: 3 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}},
		{"gateway with another CA's certificate", e.Endpoint() + "/v3/kv/range", &http.Client{Timeout: 3 * time.Second,
			Transport: &http.Transport{TLSClientConfig: otherTLS}}},
	}
	for _, tc := range httpCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.Post(tc.url, "application/json", strings.NewReader(body))
			if err != nil {
				return // refused in the handshake
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode == http.StatusOK || strings.Contains(string(got), base64.StdEncoding.EncodeToString([]byte(secret))) {
				t.Fatalf("answered %s: %s", resp.Status, got)
			}
		})
	}

	t.Run("private keys are 0600", func(t *testing.T) {
		f := e.PKI()
		for _, k := range []string{f.CAKey, f.ServerKey, f.PeerKey, f.ClientKey} {
			st, err := os.Stat(k)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", k, st.Mode().Perm())
			}
		}
	})
}

// TestAnOlderDataDirectoryKeepsWorking: a member an older apiserver ran in
// clear (no certificates in its directory) starts again over TLS with
// what was missing generated, its data intact.
func TestAnOlderDataDirectoryKeepsWorking(t *testing.T) {
	dir := t.TempDir()
	p, _, err := choosePorts(dir)
	if err != nil {
		t.Fatal(err)
	}
	ec := embed.NewConfig()
	ec.Name, ec.Dir = "skiff", filepath.Join(dir, "data")
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", p.Client)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", p.Peer)}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{clientURL}, []url.URL{clientURL}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{peerURL}, []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	old, err := embed.StartEtcd(ec)
	if err != nil {
		t.Fatal(err)
	}
	<-old.Server.ReadyNotify()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{clientURL.String()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "/registry/namespaces/kept", "v"); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	old.Close()

	e, err := Start(context.Background(), EmbedConfig{Dir: dir})
	if err != nil {
		t.Fatalf("start on an older data directory: %v", err)
	}
	defer e.Close()
	if !strings.HasPrefix(e.Endpoint(), "https://") {
		t.Errorf("endpoint %s, want https", e.Endpoint())
	}
	resp, err := e.Client().Get(ctx, "/registry/namespaces/kept")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("the older data after the restart: %v %v", resp, err)
	}
}
