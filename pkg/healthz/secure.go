package healthz

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"skiff.dev/pkg/tlsconfig"
)

// SecureServing is a component's secure port, with the flags Kubernetes'
// components (kube-scheduler, kube-controller-manager,
// cloud-controller-manager) give theirs: HTTPS with the given certificate
// or a self-signed one made at start, in front of a Delegation.
type SecureServing struct {
	BindAddress  string
	SecurePort   int
	CertFile     string
	KeyFile      string
	ClientCAFile string

	AlwaysAllowPaths []string
	TokenCacheTTL    time.Duration
	AllowCacheTTL    time.Duration
	DenyCacheTTL     time.Duration
}

// NewSecureServing returns Kubernetes' defaults for a component whose
// secure port is port: every address, the health paths open to anyone,
// answers kept 10s.
func NewSecureServing(port int) SecureServing {
	return SecureServing{
		BindAddress: "0.0.0.0", SecurePort: port,
		AlwaysAllowPaths: slices.Clone(HealthPaths),
		TokenCacheTTL:    10 * time.Second, AllowCacheTTL: 10 * time.Second, DenyCacheTTL: 10 * time.Second,
	}
}

// AddFlags registers the secure port's flags.
func (o *SecureServing) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "IP address the secure port listens on.")
	fs.IntVar(&o.SecurePort, "secure-port", o.SecurePort, "Port serving /healthz, /livez and /readyz to anyone, and /metrics and /debug/pprof/ to users the apiserver authorizes, over HTTPS; 0 disables it.")
	fs.StringVar(&o.CertFile, "tls-cert-file", o.CertFile, "Serving certificate of the secure port; a self-signed one for localhost and 127.0.0.1 is made at start when empty.")
	fs.StringVar(&o.KeyFile, "tls-private-key-file", o.KeyFile, "Key of --tls-cert-file.")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", o.ClientCAFile, "CA bundle that verifies client certificates on the secure port (common name = user, organizations = groups); empty: bearer tokens only.")
	fs.StringSliceVar(&o.AlwaysAllowPaths, "authorization-always-allow-paths", o.AlwaysAllowPaths, "Paths served without asking the apiserver whether the user may (a trailing * matches a prefix).")
	fs.DurationVar(&o.TokenCacheTTL, "authentication-token-webhook-cache-ttl", o.TokenCacheTTL, "How long the apiserver's answers to TokenReviews are kept.")
	fs.DurationVar(&o.AllowCacheTTL, "authorization-webhook-cache-authorized-ttl", o.AllowCacheTTL, "How long the apiserver's allowing answers to SubjectAccessReviews are kept.")
	fs.DurationVar(&o.DenyCacheTTL, "authorization-webhook-cache-unauthorized-ttl", o.DenyCacheTTL, "How long the apiserver's refusing answers to SubjectAccessReviews are kept.")
}

// Validate checks the flags.
func (o *SecureServing) Validate() error {
	var errs []error
	if o.SecurePort < 0 || o.SecurePort > 65535 {
		errs = append(errs, fmt.Errorf("--secure-port %d: must be 0 to 65535", o.SecurePort))
	}
	if o.SecurePort != 0 && net.ParseIP(o.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address %q: not an IP address", o.BindAddress))
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file go together"))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"authentication-token-webhook-cache-ttl", o.TokenCacheTTL}, {"authorization-webhook-cache-authorized-ttl", o.AllowCacheTTL},
		{"authorization-webhook-cache-unauthorized-ttl", o.DenyCacheTTL}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("--%s %v: must not be negative", d.flag, d.v))
		}
	}
	return errors.Join(errs...)
}

// Serve serves h on the secure port, behind a Delegation to r; a port of
// 0 serves nothing.
func (o *SecureServing) Serve(ctx context.Context, g *errgroup.Group, h http.Handler, r Reviewer) error {
	if o.SecurePort == 0 {
		return nil
	}
	return o.ServeAt(ctx, g, net.JoinHostPort(o.BindAddress, strconv.Itoa(o.SecurePort)), h, r)
}

// ServeAt is Serve on another address (host:port) than the flags'.
func (o *SecureServing) ServeAt(ctx context.Context, g *errgroup.Group, addr string, h http.Handler, r Reviewer) error {
	cfg, err := o.TLSConfig()
	if err != nil {
		return err
	}
	if err := ServeTLS(ctx, g, addr, o.Delegation(r, cfg.ClientCAs).Wrap(h), cfg); err != nil {
		return err
	}
	slog.InfoContext(ctx, "serving securely", "address", addr, "self-signed", o.CertFile == "")
	return nil
}

// Delegation is the flags' delegation to r; clientCAs verifies client
// certificates (nil: none).
func (o *SecureServing) Delegation(r Reviewer, clientCAs *x509.CertPool) *Delegation {
	return &Delegation{
		Reviewer: r, ClientCAs: clientCAs,
		AlwaysAllowPaths: o.AlwaysAllowPaths, AlwaysAllowGroups: []string{MastersGroup},
		TokenTTL: o.TokenCacheTTL, AllowTTL: o.AllowCacheTTL, DenyTTL: o.DenyCacheTTL,
	}
}

// TLSConfig loads the serving certificate, or makes a self-signed one, and
// the client CAs. Client certificates are asked for, not required, and
// verified by the Delegation, so a bad one is a 401 rather than a failed
// handshake, as on the apiserver.
func (o *SecureServing) TLSConfig() (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if o.CertFile != "" {
		if cert, err = tls.LoadX509KeyPair(o.CertFile, o.KeyFile); err != nil {
			return nil, fmt.Errorf("--tls-cert-file: %w", err)
		}
	} else if cert, err = SelfSigned(); err != nil {
		return nil, fmt.Errorf("self-signed serving certificate: %w", err)
	}
	cfg := tlsconfig.Server(cert)
	if o.ClientCAFile != "" {
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--client-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca-file %s: no PEM certificates in it", o.ClientCAFile)
		}
		cfg.ClientAuth, cfg.ClientCAs = tls.RequestClientCert, pool
	}
	return cfg, nil
}

// SelfSigned makes a serving certificate for localhost, 127.0.0.1 and
// ::1, valid for a year, kept in memory only, as Kubernetes' components
// make theirs when given none.
func SelfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: "localhost@" + strconv.FormatInt(now.Unix(), 10)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
