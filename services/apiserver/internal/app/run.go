package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"skiff.dev/pkg/telemetry"
	"skiff.dev/pkg/tlsconfig"
	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/audit"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/discovery"
	"skiff.dev/services/apiserver/internal/election"
	"skiff.dev/services/apiserver/internal/encryption"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/grpcapi"
	"skiff.dev/services/apiserver/internal/impersonation"
	"skiff.dev/services/apiserver/internal/kinds"
	"skiff.dev/services/apiserver/internal/pki"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/rest"
	"skiff.dev/services/apiserver/internal/serviceaccount"
)

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	flush, err := o.Observability.Setup(ctx, "apiserver", telemetry.StartTraces(restWrite))
	if err != nil {
		return err
	}
	defer flush()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	client, closeEtcd, err := o.etcd(ctx)
	if err != nil {
		return err
	}
	defer closeEtcd()

	var enc *encryption.Set
	if o.EncryptionProviderConfig != "" {
		if enc, err = encryption.Load(ctx, o.EncryptionProviderConfig); err != nil {
			return err
		}
	}
	served, err := api.New(api.Config{Etcd: client, WatchCacheSize: o.WatchCacheSize, NoWatchIndex: !o.WatchCacheIndex, AuthorizationModes: o.AuthorizationMode,
		EnableAdmissionPlugins: o.EnableAdmissionPlugins, DisableAdmissionPlugins: o.DisableAdmissionPlugins, Encryption: enc})
	if err != nil {
		return err
	}
	// The API runs until stopAPI: --shutdown-delay-duration after ctx
	// ends, with /readyz failing meanwhile (ready), or at once on an error.
	runCtx, stopAPI := context.WithCancel(context.WithoutCancel(ctx))
	defer context.AfterFunc(ctx, func() {
		if o.ShutdownDelay > 0 {
			slog.Info("apiserver stopping: /readyz fails, serving goes on", "shutdown-delay-duration", o.ShutdownDelay)
		}
		time.AfterFunc(o.ShutdownDelay, stopAPI)
	})()
	if err := served.Start(runCtx); err != nil {
		stopAPI()
		return fmt.Errorf("start the API: %w", err)
	}
	defer func() { stopAPI(); <-served.Done() }()

	tlsConfig, caPEM, err := o.tls()
	if err != nil {
		return err
	}
	certs, err := o.clientCertificates(tlsConfig)
	if err != nil {
		return err
	}
	adminToken, err := auth.EnsureAdminToken(o.tokenFile())
	if err != nil && o.TokenAuthFile == "" {
		return fmt.Errorf("token file: %w", err)
	}
	tokens, err := auth.LoadFile(o.tokenFile())
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}

	sa, err := o.serviceAccounts(served)
	if err != nil {
		return err
	}
	bootstrapTokens, err := o.bootstrapTokens(runCtx, served)
	if err != nil {
		return err
	}
	svcs, err := o.services(served, client)
	if err != nil {
		return err
	}
	svcDone, err := svcs.start(runCtx)
	if err != nil {
		return fmt.Errorf("repair service allocations: %w", err)
	}
	defer func() { stopAPI(); <-svcDone }()
	kubelets, err := o.kubeletClient()
	if err != nil {
		return err
	}
	auditor, stopAudit, err := o.Audit.Build(auditAttributes)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer func() { // after the server stopped: what its last requests recorded is written out
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
		defer cancel()
		if err := stopAudit(sctx); err != nil {
			slog.Error("audit backends", "err", err)
		}
	}()
	tokenChain := auth.Chain{tokens, sa.authenticator, bootstrapTokens}
	// TokenReviews are answered by the same authenticators.
	if err := served.Wrap("authentication.k8s.io", "tokenreviews", kinds.AnswerTokenReviews(kinds.ChainReviewer{Tokens: tokenChain, APIAudiences: o.apiAudiences()})); err != nil {
		return err
	}
	handler, err := newHandler(handlerConfig{
		api: served, etcd: client, authn: auth.Authenticator{Certificates: certs, Tokens: tokenChain, Anonymous: o.AnonymousAuth}, oidc: sa.oidc,
		maxBody: o.MaxRequestBodyBytes, kubelets: kubelets, profiling: o.Profiling, audit: auditor, requestTimeout: o.RequestTimeout,
		ready: func(rctx context.Context) error {
			if ctx.Err() != nil {
				return errors.New("shutting down")
			}
			return etcdReady(rctx, client)
		},
	})
	if err != nil {
		return err
	}
	// The components' kubeconfigs are in place before anyone can see the
	// server ready.
	if err := o.writeComponentKubeconfigs(caPEM); err != nil {
		return fmt.Errorf("component kubeconfigs: %w", err)
	}
	if o.WriteNodeBootstrapKubeconfig {
		if err := o.writeNodeBootstrap(runCtx, served, caPEM); err != nil {
			return err
		}
	}
	addr := net.JoinHostPort(o.BindAddress, strconv.Itoa(o.SecurePort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler: handler, TLSConfig: tlsConfig, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:    slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
		BaseContext: func(net.Listener) context.Context { return runCtx },
		// A client that vanished without closing its connection (its
		// host died, the network was cut) is noticed by a ping and its
		// watches are ended, as its own pings (pkg/client) notice a
		// vanished server.
		HTTP2: &http.HTTP2Config{SendPingTimeout: clientPingAfter, PingTimeout: clientPingTimeout},
	}
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error {
		if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		if err := o.writeKubeconfig(caPEM, adminToken); err != nil {
			return err
		}
		slog.Info("apiserver ready", "address", addr, "kubeconfig", filepath.Join(o.DataDir, "admin.kubeconfig"))
		<-gctx.Done()
		slog.Info("apiserver stopping")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
		defer cancel()
		stopAPI() // ends watches so Shutdown does not wait for them
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}

// The server pings a connection quiet for clientPingAfter and closes it
// when no answer comes within clientPingTimeout.
const (
	clientPingAfter   = 30 * time.Second
	clientPingTimeout = 15 * time.Second
)

// etcd starts embedded etcd or connects to the external cluster.
func (o *Options) etcd(ctx context.Context) (*clientv3.Client, func(), error) {
	if len(o.EtcdServers) > 0 {
		// The client outlives ctx: it serves through --shutdown-delay-duration.
		c, err := etcd.Connect(context.WithoutCancel(ctx), etcd.ExternalConfig{Endpoints: o.EtcdServers, CAFile: o.EtcdCAFile, CertFile: o.EtcdCertFile, KeyFile: o.EtcdKeyFile})
		if err != nil {
			return nil, nil, fmt.Errorf("connect to etcd: %w", err)
		}
		return c, func() { _ = c.Close() }, nil
	}
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: etcd.EmbeddedDir(o.DataDir), CompactionRetention: o.EtcdCompaction})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded etcd: %w", err)
	}
	return e.Client(), func() { _ = e.Close() }, nil
}

func etcdReady(ctx context.Context, c *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, "/skiff/health", clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	return nil
}

// tls loads the serving certificate or generates one (and its CA) into the
// data directory. It returns the CA clients should trust.
func (o *Options) tls() (*tls.Config, []byte, error) {
	certFile, keyFile := o.TLSCertFile, o.TLSKeyFile
	var caPEM []byte
	if certFile == "" {
		files, err := pki.Ensure(filepath.Join(o.DataDir, "pki"), o.hosts())
		if err != nil {
			return nil, nil, fmt.Errorf("generate certificates: %w", err)
		}
		certFile, keyFile = files.ServingCert, files.ServingKey
		if caPEM, err = os.ReadFile(files.CACert); err != nil {
			return nil, nil, err
		}
	} else {
		// A given certificate: clients trust its chain's last element.
		chain, err := os.ReadFile(certFile)
		if err != nil {
			return nil, nil, err
		}
		caPEM = chain
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("serving certificate: %w", err)
	}
	cfg := tlsconfig.Server(pair)
	cfg.NextProtos = []string{"h2", "http/1.1"}
	return cfg, caPEM, nil
}

// clientCertificates reads the client CAs (--client-ca-file, or the
// generated CA) and has the TLS server ask clients for a certificate,
// which the authenticator verifies, so a bad one is a 401 rather than a
// failed handshake. Without client CAs no certificate is asked for.
func (o *Options) clientCertificates(tlsConfig *tls.Config) (*auth.Certificates, error) {
	file := o.ClientCAFile
	if file == "" && o.TLSCertFile == "" {
		file = pki.FilesIn(filepath.Join(o.DataDir, "pki")).CACert
	}
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("client CA %s: no PEM certificate in it", file)
	}
	tlsConfig.ClientAuth, tlsConfig.ClientCAs = tls.RequestClientCert, pool
	return &auth.Certificates{Roots: pool}, nil
}

// clusterDomain is the cluster's DNS domain, as the kubelets' and the
// cluster DNS add-on's default: in-cluster clients reach the apiserver as
// kubernetes.default.svc.cluster.local.
const clusterDomain = "cluster.local"

// hosts are the names and addresses the generated certificate covers:
// those of the kubernetes Service (its names and the first address of
// --service-cluster-ip-range), which pods reach the apiserver by, and the
// apiserver's own.
func (o *Options) hosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc." + clusterDomain, "apiserver"}
	if p, err := netip.ParsePrefix(o.ServiceClusterIPRange); err == nil {
		hosts = append(hosts, kubernetesServiceIP(p).String())
	}
	if name, err := os.Hostname(); err == nil {
		hosts = append(hosts, name)
	}
	for _, a := range []string{o.AdvertiseAddress, o.BindAddress} {
		if a != "" && a != "0.0.0.0" && a != "::" {
			hosts = append(hosts, a)
		}
	}
	return hosts
}

// handlerConfig is what the HTTP handler chain needs.
type handlerConfig struct {
	profiling bool
	api       *api.API
	etcd      *clientv3.Client
	authn     auth.Authenticator
	maxBody   int64
	// oidc serves the service-account issuer's discovery document and keys.
	oidc  http.Handler
	ready func(context.Context) error
	// kubelets reaches the nodes' kubelets (pods/log, exec, ...).
	kubelets rest.KubeletConnector
	// audit records requests on both faces; nil records none.
	audit *audit.Auditor
	// requestTimeout bounds requests that are not long-running, on both
	// faces.
	requestTimeout time.Duration
}

// newHandler builds the chain: tracing and metrics around the audit ID
// around the request timeout around authentication around auditing
// around impersonation around authorization around the body limit around
// the routes; the election service's HTTP/JSON face is authorized by the
// service itself, as its gRPC face is.
func newHandler(c handlerConfig) (http.Handler, error) {
	m := newMetrics()
	disc := newDerived(c.api.Catalog, func(s *catalog.Snapshot) *discovery.Handler { return discovery.New(s.Resources()) })
	openAPI := newDerived(c.api.Catalog, newOpenAPI)
	resources := rest.New(rest.Config{Catalog: c.api.Catalog, Observe: m.observe, Kubelets: c.kubelets})
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := c.ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("/metrics", m.handler())
	mux.Handle("/openapi/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { openAPI.get().ServeHTTP(w, r) }))
	if c.profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if c.oidc != nil {
		mux.Handle(serviceaccount.DiscoveryPath, c.oidc)
		mux.Handle(serviceaccount.JWKSPath, c.oidc)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if d := disc.get(); d.Match(r.URL.Path) {
			d.ServeHTTP(w, r)
			return
		}
		resources.ServeHTTP(w, r)
	})
	// authz is the requests' own authorization, which the audit records.
	authz := c.audit.Authorizer(c.api.Authorizer())
	elect := election.New(c.etcd, c.api.Backend("coordination.k8s.io", "leases"), authz)
	gateway, err := election.Gateway(elect)
	if err != nil {
		return nil, err
	}
	var h http.Handler = withElectionGateway(rest.Authorize(limitBody(mux, c.maxBody), authz), limitBody(gateway, c.maxBody))
	h = impersonation.Middleware(h, c.api.Authorizer(), rest.WriteError)
	h = c.audit.Handler(h)
	h = c.authn.Middleware(h, c.audit.FailedAuthentication(rest.WriteError))
	h = rest.WithRequestTimeout(h, c.requestTimeout, election.LongRunningPaths...)
	h = audit.WithAuditID(h)
	h = traced(h)
	grpcServer := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(grpcapi.RecoverUnary, c.authn.UnaryInterceptor, c.audit.UnaryInterceptor,
			grpcapi.TimeoutUnary(c.requestTimeout, election.LongRunningMethods...)),
		grpc.ChainStreamInterceptor(grpcapi.RecoverStream, c.authn.StreamInterceptor, c.audit.StreamInterceptor),
		grpc.MaxRecvMsgSize(int(c.maxBody)),
		grpc.MaxSendMsgSize(maxResponseBytes),
	)
	builtin := c.api.Catalog.Snapshot()
	backendOf := func(r *registry.Resource) registry.Backend {
		e, _ := builtin.Lookup(r.Group, r.Version, r.Plural)
		return e.Backend
	}
	if err := grpcapi.Register(grpcServer, builtin.Resources(), backendOf, authz); err != nil {
		return nil, err
	}
	grpcapi.RegisterKindless(grpcServer, c.api.Catalog, authz)
	elect.Register(grpcServer)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			grpcServer.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}), nil
}

// maxResponseBytes bounds one gRPC answer: a page of 500 of the largest
// objects etcd stores (1.5 MiB each) is 750 MiB, so any page fits, and
// so does any single object; clients (pkg/client) accept the same. A
// request is bounded by --max-request-body-bytes (3 MiB by default, as
// Kubernetes' MaxRequestBodyBytes), for gRPC as for HTTP.
const maxResponseBytes = 1 << 30

// limitBody refuses bodies over max with 413, up front when the length is
// declared and while reading otherwise.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			rest.WriteError(w, r, apierrors.NewRequestEntityTooLarge(
				fmt.Sprintf("the request body of %d bytes is larger than the limit of %d bytes", r.ContentLength, max)))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}
