// Package etcd gives the apiserver its etcd: an embedded single-member
// server in the data directory (the default, enough for a laptop or a
// test), or a client of an external cluster over TLS. The embedded member
// listens on loopback over TLS and answers only clients (and peers)
// presenting a certificate of its own CA, which it generates into the
// data directory (etcd/pki) with the apiserver's client certificate.
package etcd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"skiff.dev/pkg/etcdpki"
)

// EmbedConfig configures the embedded server.
type EmbedConfig struct {
	Dir string
	// CompactionRetention keeps this much history for watches that resume
	// from an old revision; older revisions answer 410.
	CompactionRetention time.Duration
}

// Embedded is a running embedded etcd and a client of it.
type Embedded struct {
	server   *embed.Etcd
	client   *clientv3.Client
	endpoint string
	pki      etcdpki.Files
}

// PKIDir is the directory, under the embedded member's, of its
// certificates and the apiserver's client certificate.
const PKIDir = "pki"

// loopbackHosts are the names the member's certificates are valid for.
var loopbackHosts = []string{"127.0.0.1", "localhost"}

// ports are the loopback ports the member listens on; they are kept in the
// data directory so a restart finds the member where it left it.
type ports struct {
	Client int `json:"client"`
	Peer   int `json:"peer"`
}

// Start runs an embedded etcd with its data in cfg.Dir and waits until it
// serves.
func Start(ctx context.Context, cfg EmbedConfig) (*Embedded, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd data directory: %w", err)
	}
	// Ports picked free can be taken by someone else before etcd binds
	// them; a first start then picks again. A member that has run keeps
	// its ports, which its data records.
	for attempt := 1; ; attempt++ {
		p, fresh, err := choosePorts(cfg.Dir)
		if err != nil {
			return nil, err
		}
		e, err := start(ctx, cfg, p)
		if err == nil || !fresh || !errors.Is(err, syscall.EADDRINUSE) || attempt == 5 {
			return e, err
		}
		if err := os.Remove(filepath.Join(cfg.Dir, portsFile)); err != nil {
			return nil, err
		}
	}
}

func start(ctx context.Context, cfg EmbedConfig, p ports) (*Embedded, error) {
	// A data directory of an older apiserver has no certificates; they
	// are made here, and whatever is missing or expiring on later starts.
	files, err := etcdpki.Ensure(filepath.Join(cfg.Dir, PKIDir), loopbackHosts)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd certificates: %w", err)
	}
	ec := embed.NewConfig()
	ec.Name = MemberName
	ec.Dir = filepath.Join(cfg.Dir, DataSubdir)
	clientURL := url.URL{Scheme: "https", Host: fmt.Sprintf("127.0.0.1:%d", p.Client)}
	peerURL := url.URL{Scheme: "https", Host: fmt.Sprintf("127.0.0.1:%d", p.Peer)}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{clientURL}, []url.URL{clientURL}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{peerURL}, []url.URL{peerURL}
	ec.ClientTLSInfo = transport.TLSInfo{CertFile: files.ServerCert, KeyFile: files.ServerKey,
		TrustedCAFile: files.CACert, ClientCertAuth: true}
	ec.PeerTLSInfo = transport.TLSInfo{CertFile: files.PeerCert, KeyFile: files.PeerKey,
		TrustedCAFile: files.CACert, ClientCertAuth: true}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.LogLevel = "error"
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	if cfg.CompactionRetention > 0 {
		ec.AutoCompactionMode = "periodic"
		ec.AutoCompactionRetention = cfg.CompactionRetention.String()
	}
	srv, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		srv.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		srv.Close()
		return nil, errors.New("embedded etcd was not ready within 60s")
	case <-ctx.Done():
		srv.Close()
		return nil, ctx.Err()
	}
	tlsCfg, err := files.ClientTLS()
	if err != nil {
		srv.Close()
		return nil, err
	}
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{clientURL.String()}, TLS: tlsCfg,
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("connect to embedded etcd: %w", err)
	}
	return &Embedded{server: srv, client: client, endpoint: clientURL.String(), pki: files}, nil
}

// portsFile records the member's ports in the data directory.
const portsFile = "ports.json"

// choosePorts reuses the ports of an earlier start or picks free ones
// (fresh).
func choosePorts(dir string) (p ports, fresh bool, err error) {
	path := filepath.Join(dir, portsFile)
	if data, err := os.ReadFile(path); err == nil && json.Unmarshal(data, &p) == nil && p.Client > 0 && p.Peer > 0 {
		return p, false, nil
	}
	if p.Client, err = freePort(); err != nil {
		return p, true, err
	}
	if p.Peer, err = freePort(); err != nil {
		return p, true, err
	}
	data, _ := json.Marshal(p)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return p, true, fmt.Errorf("record etcd ports: %w", err)
	}
	return p, true, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for etcd: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Client is a client of the embedded server.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Endpoint is the member's client URL.
func (e *Embedded) Endpoint() string { return e.endpoint }

// PKI are the member's certificates and the apiserver's client
// certificate.
func (e *Embedded) PKI() etcdpki.Files { return e.pki }

// Close stops the client and the server.
func (e *Embedded) Close() error {
	err := e.client.Close()
	e.server.Close()
	return err
}

// ExternalConfig points at an external etcd cluster.
type ExternalConfig struct {
	Endpoints []string
	CAFile    string
	CertFile  string
	KeyFile   string
}

// Keep-alive pings on the connections to an external cluster's members:
// a member cut off the network leaves its connection open but silent, and
// without pings the client keeps sending requests there, which hang until
// they time out, for as long as the partition lasts. With them the
// connection is closed within keepAliveTime+keepAliveTimeout and requests
// go to the other members. (etcd refuses pings more often than every 5 s,
// its --grpc-keepalive-min-time.)
const (
	keepAliveTime    = 10 * time.Second
	keepAliveTimeout = 5 * time.Second
)

// Connect returns a client of an external cluster, with TLS when files
// are given.
func Connect(ctx context.Context, cfg ExternalConfig) (*clientv3.Client, error) {
	ccfg, err := cfg.ClientConfig()
	if err != nil {
		return nil, err
	}
	ccfg.Context = ctx
	client, err := clientv3.New(ccfg)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", cfg.Endpoints, err)
	}
	return client, nil
}

// ClientConfig is the client configuration of the external cluster, with
// TLS when files are given.
func (cfg ExternalConfig) ClientConfig() (clientv3.Config, error) {
	var tlsCfg *tls.Config
	if cfg.CAFile != "" || cfg.CertFile != "" {
		info := transport.TLSInfo{TrustedCAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}
		var err error
		if tlsCfg, err = info.ClientConfig(); err != nil {
			return clientv3.Config{}, fmt.Errorf("etcd TLS: %w", err)
		}
	}
	return clientv3.Config{Endpoints: cfg.Endpoints, TLS: tlsCfg,
		DialTimeout: 5 * time.Second, DialKeepAliveTime: keepAliveTime, DialKeepAliveTimeout: keepAliveTimeout,
		Logger: zap.NewNop()}, nil
}
