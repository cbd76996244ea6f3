// Package server is the kubelet's HTTPS server, which the apiserver
// proxies `kubectl logs`, `exec`, `attach` and `port-forward` to: it
// serves the Kubernetes kubelet paths (/containerLogs, /exec, /attach,
// /portForward) from the container runtime over CRI, and passes requests
// on to its pods (/podProxy, for pods/proxy and services/proxy), to
// clients that present a certificate signed by --client-ca-file. It also
// serves the kubelet's /metrics, z-pages (/statusz, /flagz, /configz, and
// the ComponentStatusService over gRPC) and /debug/pprof/ to the users the
// apiserver authorizes for nodes/metrics, nodes/statusz, nodes/configz and
// nodes/proxy, as Kubernetes' kubelet does with webhook authentication and
// authorization. It speaks HTTP/2 and HTTP/1.1, as Kubernetes' kubelet
// does; the streaming paths need HTTP/1.1, which the clients that upgrade
// (the apiserver) negotiate.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	componentv1 "skiff.dev/api/component/v1"
	"skiff.dev/pkg/healthz"
	"skiff.dev/pkg/tlsconfig"
	"skiff.dev/services/kubelet/internal/cri"
)

// Config is what the server needs.
type Config struct {
	// Address and Port to listen on.
	Address string
	Port    int
	// NodeName selects this node's containers (the skiff.dev/node label)
	// and names the generated serving certificate, with NodeIP.
	NodeName string
	NodeIP   string
	// CertFile and KeyFile are the serving certificate; when empty a
	// self-signed one is generated into PKIDir.
	CertFile, KeyFile string
	PKIDir            string
	// ClientCAFile verifies client certificates; without it every request
	// is refused.
	ClientCAFile string
	Runtime      cri.Runtime
	// Metrics serves /metrics, the z-pages and /debug/pprof/ to the
	// users Reviewer authenticates (a client certificate, else a bearer
	// token) and authorizes; nil serves none of them.
	Metrics  http.Handler
	Reviewer healthz.Reviewer
}

// Server is the kubelet's HTTPS server.
type Server struct {
	cfg     Config
	tls     *tls.Config
	handler http.Handler
}

// New loads or generates the certificates and builds the routes.
func New(cfg Config) (*Server, error) {
	cert, err := servingCertificate(cfg)
	if err != nil {
		return nil, err
	}
	tc := tlsconfig.Server(cert)
	// HTTP/2 for gRPC and whoever prefers it; exec, attach and
	// port-forward upgrade to WebSocket, which only HTTP/1.1 carries, so
	// over HTTP/2 they answer 400 and their clients offer http/1.1 alone.
	tc.NextProtos = []string{"h2", "http/1.1"}
	s := &Server{cfg: cfg, tls: tc}
	if cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--client-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca-file %s: no PEM certificates in it", cfg.ClientCAFile)
		}
		// Verified if given; a request without one gets a 401 Status
		// rather than a failed handshake.
		s.tls.ClientAuth, s.tls.ClientCAs = tls.VerifyClientCertIfGiven, pool
	}
	s.handler = s.authenticate(s.routes())
	if cfg.Metrics != nil && cfg.Reviewer != nil {
		mux := http.NewServeMux()
		metrics := s.delegation().Wrap(cfg.Metrics)
		for _, p := range append([]string{"/metrics", "/debug/pprof/"}, zpages...) {
			mux.Handle(p, metrics)
		}
		for p := range grpcMethods {
			mux.Handle("POST "+p, metrics)
		}
		mux.Handle("/", s.handler)
		s.handler = mux
	}
	return s, nil
}

// delegation authenticates and authorizes the metrics and profiles
// through the apiserver, with the kubelet's defaults for how long answers
// are kept (--authentication-token-webhook-cache-ttl 2m,
// --authorization-webhook-cache-authorized-ttl 5m and -unauthorized-ttl
// 30s in Kubernetes).
func (s *Server) delegation() *healthz.Delegation {
	return &healthz.Delegation{
		Reviewer: s.cfg.Reviewer, ClientCAs: s.tls.ClientCAs, AlwaysAllowGroups: []string{healthz.MastersGroup},
		Attributes: s.attributes, TokenTTL: 2 * time.Minute, AllowTTL: 5 * time.Minute, DenyTTL: 30 * time.Second,
	}
}

// zpages are the z-page paths, served as JSON (component.ZPages).
var zpages = []string{"/statusz", "/flagz", "/configz"}

// subresources are the nodes subresources Kubernetes' kubelet authorizes
// its paths as; any other path is nodes/proxy.
var subresources = map[string]string{"/metrics": "metrics", "/statusz": "statusz", "/flagz": "configz", "/configz": "configz"}

// grpcMethods are the ComponentStatusService's methods, each with the
// nodes subresource of its HTTP twin: the gRPC Statusz is read as
// /statusz is, Flagz and Configz as /flagz and /configz.
var grpcMethods = map[string]string{
	componentv1.ComponentStatusService_Statusz_FullMethodName: "statusz",
	componentv1.ComponentStatusService_Flagz_FullMethodName:   "configz",
	componentv1.ComponentStatusService_Configz_FullMethodName: "configz",
}

// attributes describe a request as Kubernetes' kubelet does: a request on
// this node's nodes/metrics for /metrics, nodes/statusz for /statusz,
// nodes/configz for /flagz and /configz, nodes/proxy for the rest, with
// the verb of the method. A gRPC z-page call (a POST) is a get of its
// HTTP twin's subresource, since it reads the same answer.
func (s *Server) attributes(r *http.Request) healthz.Attributes {
	a := healthz.Attributes{Verb: verbs[r.Method], Path: r.URL.Path, ResourceRequest: true,
		APIVersion: "v1", Resource: "nodes", Subresource: "proxy", Name: s.cfg.NodeName}
	if sub, ok := grpcMethods[r.URL.Path]; ok && r.Method == http.MethodPost {
		a.Verb, a.Subresource = "get", sub
		return a
	}
	for p, sub := range subresources {
		if r.URL.Path == p || strings.HasPrefix(r.URL.Path, p+"/") {
			a.Subresource = sub
		}
	}
	return a
}

// verbs are the authorization verbs of the HTTP methods.
var verbs = map[string]string{http.MethodGet: "get", http.MethodPost: "create", http.MethodPut: "update",
	http.MethodPatch: "patch", http.MethodDelete: "delete"}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.containerLogs)
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /exec/{namespace}/{pod}/{container}", s.exec)
		mux.HandleFunc(m+" /attach/{namespace}/{pod}/{container}", s.attach)
		mux.HandleFunc(m+" /portForward/{namespace}/{pod}", s.portForward)
	}
	mux.HandleFunc("/podProxy/{scheme}/{namespace}/{pod}/{port}/", s.podProxy)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, notFound(fmt.Sprintf("the kubelet serves no %s %s", r.Method, r.URL.Path)))
	})
	return mux
}

// authenticate lets through requests with a verified client certificate.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case s.tls.ClientCAs == nil:
			writeError(w, r, forbidden("the kubelet has no --client-ca-file and serves nobody"))
		case r.TLS == nil || len(r.TLS.VerifiedChains) == 0:
			writeError(w, r, unauthorized("a client certificate signed by the kubelet's --client-ca-file is required"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// Start serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	addr := net.JoinHostPort(s.cfg.Address, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("kubelet server: listen on %s: %w", addr, err)
	}
	if s.tls.ClientCAs == nil {
		slog.WarnContext(ctx, "kubelet server has no --client-ca-file: it refuses every request (logs, exec, attach, port-forward)", "address", addr)
	} else {
		slog.InfoContext(ctx, "kubelet server listening", "address", addr)
	}
	srv := &http.Server{
		Handler: s.handler, TLSConfig: s.tls, ReadHeaderTimeout: 30 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		return fmt.Errorf("kubelet server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("kubelet server: %w", err)
	}
	return nil
}
