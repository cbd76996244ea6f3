// Package client is Skiff's typed Go client over the apiserver's gRPC
// face: CRUD, status updates, patches and watches for every served kind,
// with errors that carry the Kubernetes Status. Every Skiff component
// talks to the apiserver through it.
//
// A client survives the loss of its apiserver: it pings a quiet
// connection, connects again within seconds, to another apiserver when
// Config.Endpoints (or the kubeconfig's skiff.dev/apiserver-endpoints
// extension) names several or through a load balancer, and retries the
// reads that the broken connection failed (dial.go, retry.go).
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"sigs.k8s.io/yaml"
)

// Config says how to reach an apiserver.
type Config struct {
	// Address is host:port of the apiserver's secure port.
	Address string
	// Endpoints are the host:port of further apiservers of the same
	// cluster. With them, the client talks to one of them all, in its own
	// random order, and moves to the next that answers when its own fails
	// (dial.go); without, Address may be a load balancer's, which does the
	// same.
	Endpoints []string
	// Token is the bearer token sent with every call.
	Token string
	// CAData is the PEM bundle that signs the server's certificate; empty
	// uses the system roots.
	CAData []byte
	// ServerName overrides the name checked in the server's certificate.
	ServerName string
	// CertData and KeyData are a client certificate and its key (PEM),
	// which authenticate the client as the certificate's common name.
	CertData, KeyData []byte
	// CertFile and KeyFile name them on disk instead; they are read at
	// every new connection, so a renewed certificate is used without a
	// restart.
	CertFile, KeyFile string
	// TokenSource gives the bearer token of each call when set (a token
	// that expires and is renewed); it takes precedence over Token.
	TokenSource TokenSource
}

// TokenSource gives a current bearer token.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// kubeconfig is the part of a kubeconfig file the client reads.
type kubeconfig struct {
	CurrentContext string `json:"current-context"`
	Clusters       []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthority     string `json:"certificate-authority"`
			CertificateAuthorityData string `json:"certificate-authority-data"`
			TLSServerName            string `json:"tls-server-name"`
			Extensions               []struct {
				Name      string `json:"name"`
				Extension struct {
					Servers []string `json:"servers"`
				} `json:"extension"`
			} `json:"extensions"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string `json:"name"`
		User struct {
			Token                 string `json:"token"`
			TokenFile             string `json:"tokenFile"`
			ClientCertificate     string `json:"client-certificate"`
			ClientCertificateData string `json:"client-certificate-data"`
			ClientKey             string `json:"client-key"`
			ClientKeyData         string `json:"client-key-data"`
		} `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster string `json:"cluster"`
			User    string `json:"user"`
		} `json:"context"`
	} `json:"contexts"`
}

// FromKubeconfig reads the current context of a kubeconfig file: the
// cluster, and the user's token or client certificate. Relative file
// names are relative to the kubeconfig's directory, as kubectl reads them.
func FromKubeconfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	var clusterName, userName string
	for _, c := range kc.Contexts {
		if c.Name == kc.CurrentContext {
			clusterName, userName = c.Context.Cluster, c.Context.User
		}
	}
	var cfg Config
	found := false
	for _, c := range kc.Clusters {
		if c.Name != clusterName {
			continue
		}
		found = true
		host, err := serverHost(c.Cluster.Server)
		if err != nil {
			return Config{}, fmt.Errorf("%s: cluster %s: %w", path, c.Name, err)
		}
		cfg.Address, cfg.ServerName = host, c.Cluster.TLSServerName
		for _, ext := range c.Cluster.Extensions {
			if ext.Name != EndpointsExtension {
				continue
			}
			for _, server := range ext.Extension.Servers {
				host, err := serverHost(server)
				if err != nil {
					return Config{}, fmt.Errorf("%s: cluster %s: extension %s: %w", path, c.Name, EndpointsExtension, err)
				}
				cfg.Endpoints = append(cfg.Endpoints, host)
			}
		}
		switch {
		case c.Cluster.CertificateAuthorityData != "":
			if cfg.CAData, err = base64.StdEncoding.DecodeString(c.Cluster.CertificateAuthorityData); err != nil {
				return Config{}, fmt.Errorf("%s: certificate-authority-data: %w", path, err)
			}
		case c.Cluster.CertificateAuthority != "":
			if cfg.CAData, err = os.ReadFile(c.Cluster.CertificateAuthority); err != nil {
				return Config{}, err
			}
		}
	}
	if !found {
		return Config{}, fmt.Errorf("%s: no cluster for the current context %q", path, kc.CurrentContext)
	}
	for _, u := range kc.Users {
		if u.Name != userName {
			continue
		}
		cfg.Token = u.User.Token
		if u.User.TokenFile != "" {
			tok, err := os.ReadFile(u.User.TokenFile)
			if err != nil {
				return Config{}, err
			}
			cfg.Token = string(tok)
		}
		if err := readClientCertificate(&cfg, path, u.User.ClientCertificate, u.User.ClientCertificateData, u.User.ClientKey, u.User.ClientKeyData); err != nil {
			return Config{}, err
		}
	}
	return cfg, nil
}

// readClientCertificate fills a kubeconfig user's client certificate into
// cfg: data inline, or the names of files.
func readClientCertificate(cfg *Config, path, certFile, certData, keyFile, keyData string) error {
	var err error
	if certData != "" {
		if cfg.CertData, err = base64.StdEncoding.DecodeString(certData); err != nil {
			return fmt.Errorf("%s: client-certificate-data: %w", path, err)
		}
	}
	if keyData != "" {
		if cfg.KeyData, err = base64.StdEncoding.DecodeString(keyData); err != nil {
			return fmt.Errorf("%s: client-key-data: %w", path, err)
		}
	}
	rel := func(f string) string {
		if f == "" || filepath.IsAbs(f) {
			return f
		}
		return filepath.Join(filepath.Dir(path), f)
	}
	cfg.CertFile, cfg.KeyFile = rel(certFile), rel(keyFile)
	return nil
}

// clientCertificate sets up the client certificate of cfg, if any.
func clientCertificate(cfg Config, tlsConfig *tls.Config) error {
	switch {
	case len(cfg.CertData) > 0 || len(cfg.KeyData) > 0:
		pair, err := tls.X509KeyPair(cfg.CertData, cfg.KeyData)
		if err != nil {
			return fmt.Errorf("client: client certificate: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	case cfg.CertFile != "" || cfg.KeyFile != "":
		if _, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile); err != nil {
			return fmt.Errorf("client: client certificate: %w", err)
		}
		tlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("client certificate: %w", err)
			}
			return &pair, nil
		}
	}
	return nil
}

// tokenCredentials sends the bearer token, over TLS only.
type tokenCredentials string

func (t tokenCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (tokenCredentials) RequireTransportSecurity() bool { return true }

// sourceCredentials sends the token source's current token, over TLS only.
type sourceCredentials struct{ src TokenSource }

func (s sourceCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := s.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

func (sourceCredentials) RequireTransportSecurity() bool { return true }

// Client is a connection to an apiserver.
type Client struct {
	conn *grpc.ClientConn
}

// New connects lazily: the first call dials.
func New(cfg Config, opts ...grpc.DialOption) (*Client, error) {
	if cfg.Address == "" {
		return nil, errors.New("client: no apiserver address")
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if len(cfg.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAData) {
			return nil, errors.New("client: the CA data holds no certificate")
		}
		tlsConfig.RootCAs = pool
	}
	if err := clientCertificate(cfg, tlsConfig); err != nil {
		return nil, err
	}
	all := []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		// The program's name leads the User-Agent: the apiserver names
		// the field manager of writes that give none after it.
		grpc.WithUserAgent(filepath.Base(os.Args[0])),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxRecvMsgSize), grpc.MaxCallSendMsgSize(MaxSendMsgSize)),
	}
	// Calls are retried as client-go retries them (retry.go); a lost
	// apiserver is noticed and replaced (dial.go).
	all = append(all, retryOptions()...)
	all = append(all, connectionOptions()...)
	target, targetOpts, err := dialTarget(cfg)
	if err != nil {
		return nil, err
	}
	all = append(all, targetOpts...)
	switch {
	case cfg.TokenSource != nil:
		all = append(all, grpc.WithPerRPCCredentials(sourceCredentials{cfg.TokenSource}))
	case cfg.Token != "":
		all = append(all, grpc.WithPerRPCCredentials(tokenCredentials(cfg.Token)))
	}
	conn, err := grpc.NewClient(target, append(all, opts...)...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn}, nil
}

// NewFromKubeconfig is New with the Config of a kubeconfig file, as every
// component starts.
func NewFromKubeconfig(path string, opts ...grpc.DialOption) (*Client, error) {
	cfg, err := FromKubeconfig(path)
	if err != nil {
		return nil, err
	}
	return New(cfg, opts...)
}

// Close ends the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying connection, for services beyond the resources.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// CoreV1 is the core group.
func (c *Client) CoreV1() CoreV1 { return CoreV1{conn: c.conn} }

// AppsV1 is the apps group.
func (c *Client) AppsV1() AppsV1 { return AppsV1{conn: c.conn} }

// DiscoveryV1 is the discovery.k8s.io group.
func (c *Client) DiscoveryV1() DiscoveryV1 { return DiscoveryV1{conn: c.conn} }

// CoordinationV1 is the coordination.k8s.io group.
func (c *Client) CoordinationV1() CoordinationV1 { return CoordinationV1{conn: c.conn} }

// FlowcontrolV1 is the flowcontrol.apiserver.k8s.io group.
func (c *Client) FlowcontrolV1() FlowcontrolV1 { return FlowcontrolV1{conn: c.conn} }

// NetworkingV1 is the networking.k8s.io group.
func (c *Client) NetworkingV1() NetworkingV1 { return NetworkingV1{conn: c.conn} }

// CertificatesV1 is the certificates.k8s.io group.
func (c *Client) CertificatesV1() CertificatesV1 { return CertificatesV1{conn: c.conn} }

// NodeV1 is the node.k8s.io group.
func (c *Client) NodeV1() NodeV1 { return NodeV1{conn: c.conn} }

// SchedulingV1 is the scheduling.k8s.io/v1 group.
func (c *Client) SchedulingV1() SchedulingV1 { return SchedulingV1{conn: c.conn} }
