// Package app is the apiserver process: its flags, and Run, which wires
// etcd, storage, the API faces, TLS, authentication, health and metrics
// together and serves until its context ends.
package app

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/component"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/audit"
	"skiff.dev/services/apiserver/internal/encryption"
)

// Options are the apiserver's flags.
type Options struct {
	component.Observability
	DataDir          string
	BindAddress      string
	SecurePort       int
	AdvertiseAddress string
	TLSCertFile      string
	TLSKeyFile       string
	TokenAuthFile    string
	// ClientCAFile verifies client certificates; empty uses the generated
	// CA when the serving certificate is generated.
	ClientCAFile string
	// WriteNodeBootstrapKubeconfig has the apiserver make a node bootstrap
	// token and write a kubeconfig with it, as kubeadm init does.
	WriteNodeBootstrapKubeconfig bool
	// AnonymousAuth lets requests without credentials through as
	// system:anonymous, for authorization to decide.
	AnonymousAuth bool
	// EnableBootstrapTokenAuth accepts bootstrap tokens, backed by
	// bootstrap.kubernetes.io/token Secrets in kube-system, as bearer
	// tokens (nodes joining the cluster).
	EnableBootstrapTokenAuth bool
	// AuthorizationMode lists the authorizers after the system:masters
	// one, in order: Node, RBAC, AlwaysAllow, AlwaysDeny.
	AuthorizationMode []string
	// EnableAdmissionPlugins and DisableAdmissionPlugins change the
	// default admission chain.
	EnableAdmissionPlugins, DisableAdmissionPlugins []string

	KubeletClientCertificate    string
	KubeletClientKey            string
	KubeletCertificateAuthority string

	// ServiceAccountIssuers: the first is the iss of new tokens; tokens of
	// any of them are accepted.
	ServiceAccountIssuers          []string
	ServiceAccountSigningKeyFile   string
	ServiceAccountKeyFiles         []string
	ServiceAccountJWKSURI          string
	ServiceAccountMaxExpiration    time.Duration
	ServiceAccountExtendExpiration bool
	// APIAudiences: a token must name one to authenticate here; default
	// the first issuer.
	APIAudiences []string

	EtcdServers  []string
	EtcdCAFile   string
	EtcdCertFile string
	EtcdKeyFile  string
	// EtcdCompaction is how much history embedded etcd keeps.
	EtcdCompaction time.Duration

	// ServiceClusterIPRange is the IPv4 CIDR cluster IPs come from;
	// ServiceNodePortRange the ports node ports come from (first-last).
	ServiceClusterIPRange string
	ServiceNodePortRange  string

	// EncryptionProviderConfig is an EncryptionConfiguration file: which
	// resources are encrypted at rest, and how.
	EncryptionProviderConfig string

	WatchCacheSize int
	// WatchCacheIndex files watchers by namespace and spec.nodeName; off
	// only to measure what it saves (a hidden flag).
	WatchCacheIndex     bool
	MaxRequestBodyBytes int64
	Profiling           bool
	ShutdownTimeout     time.Duration
	// ShutdownDelay is kube-apiserver's --shutdown-delay-duration: how
	// long a server told to stop keeps serving, /readyz failing, before
	// it stops accepting connections.
	ShutdownDelay time.Duration
	// EndpointReconcilerType is kube-apiserver's
	// --endpoint-reconciler-type: lease or none.
	EndpointReconcilerType string
	// RequestTimeout bounds every request that is not long-running
	// (watches, logs, exec, proxy are).
	RequestTimeout time.Duration

	// Audit is the --audit-* flags.
	Audit audit.Options
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Observability:         component.DefaultObservability(),
		DataDir:               "/var/lib/skiff/apiserver",
		BindAddress:           "0.0.0.0",
		SecurePort:            6443,
		EtcdCompaction:        5 * time.Minute,
		ServiceClusterIPRange: "10.96.0.0/12",
		ServiceNodePortRange:  "30000-32767",
		WatchCacheSize:        2000,
		WatchCacheIndex:       true,
		MaxRequestBodyBytes:   3 << 20,
		Profiling:             true,
		AnonymousAuth:         true,
		// On, as kubeadm runs kube-apiserver (whose own default is off):
		// a token authenticates only once an administrator has made its
		// Secret in kube-system.
		EnableBootstrapTokenAuth: true,
		AuthorizationMode:        []string{"Node", "RBAC"},
		ShutdownTimeout:          20 * time.Second,
		EndpointReconcilerType:   "lease",
		RequestTimeout:           60 * time.Second,
		Audit:                    audit.NewOptions(),

		ServiceAccountIssuers:          []string{"https://kubernetes.default.svc.cluster.local"},
		ServiceAccountExtendExpiration: true,
	}
}

// AddFlags registers the flags, Kubernetes' names where Kubernetes has one.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for embedded etcd data, generated certificates, the token file and admin.kubeconfig.")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "IP address to listen on.")
	fs.IntVar(&o.SecurePort, "secure-port", o.SecurePort, "Port serving HTTPS (REST) and gRPC.")
	fs.StringVar(&o.AdvertiseAddress, "advertise-address", o.AdvertiseAddress, "Address clients reach this server at; written into admin.kubeconfig and the serving certificate.")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", o.TLSCertFile, "Serving certificate; generated into --data-dir when empty.")
	fs.StringVar(&o.TLSKeyFile, "tls-private-key-file", o.TLSKeyFile, "Key of --tls-cert-file.")
	fs.StringVar(&o.TokenAuthFile, "token-auth-file", o.TokenAuthFile, "Static bearer tokens (token,user,uid,\"groups\"); default <data-dir>/tokens.csv with a generated admin token.")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", o.ClientCAFile, "CA bundle that verifies client certificates (common name = user, organizations = groups); default: the generated CA when --tls-cert-file is not given, else no client certificates.")
	fs.BoolVar(&o.WriteNodeBootstrapKubeconfig, "write-node-bootstrap-kubeconfig", o.WriteNodeBootstrapKubeconfig, "Make a bootstrap token for nodes (and kubeadm's bindings that let its holders join), and write a kubeconfig with it to <data-dir>/kubeconfigs/node-bootstrap.kubeconfig, for kubelets' --bootstrap-kubeconfig, as kubeadm init does; needs the generated CA and --enable-bootstrap-token-auth.")
	fs.BoolVar(&o.AnonymousAuth, "anonymous-auth", o.AnonymousAuth, "Serve requests without credentials as user system:anonymous (group system:unauthenticated), allowed what authorization grants them; when false they get 401.")
	fs.BoolVar(&o.EnableBootstrapTokenAuth, "enable-bootstrap-token-auth", o.EnableBootstrapTokenAuth, "Accept bootstrap tokens (<id>.<secret>, backed by bootstrap.kubernetes.io/token Secrets named bootstrap-token-<id> in kube-system) as bearer tokens of user system:bootstrap:<id> in group system:bootstrappers, for TLS bootstrapping of kubelets.")
	fs.StringSliceVar(&o.AuthorizationMode, "authorization-mode", o.AuthorizationMode, "Authorizers to ask in order after the one that allows group system:masters everything: Node, RBAC, AlwaysAllow, AlwaysDeny.")
	fs.StringSliceVar(&o.EnableAdmissionPlugins, "enable-admission-plugins", o.EnableAdmissionPlugins, "Admission plugins to run besides the default ones ("+strings.Join(admission.DefaultEnabled, ", ")+"); known: "+strings.Join(admission.Order, ", ")+". They run in Kubernetes' order whatever the order given.")
	fs.StringSliceVar(&o.DisableAdmissionPlugins, "disable-admission-plugins", o.DisableAdmissionPlugins, "Default admission plugins not to run.")
	fs.StringVar(&o.KubeletClientCertificate, "kubelet-client-certificate", o.KubeletClientCertificate, "Client certificate for the kubelets' HTTPS servers (logs, exec); generated into --data-dir, signed by its CA, when empty and the serving certificate is generated.")
	fs.StringVar(&o.KubeletClientKey, "kubelet-client-key", o.KubeletClientKey, "Key of --kubelet-client-certificate.")
	fs.StringVar(&o.KubeletCertificateAuthority, "kubelet-certificate-authority", o.KubeletCertificateAuthority, "CA bundle that verifies the kubelets' serving certificates; when empty they are not verified.")
	fs.StringArrayVar(&o.ServiceAccountIssuers, "service-account-issuer", o.ServiceAccountIssuers, "Issuer (iss) of service-account tokens; repeat it to also accept tokens of earlier issuers (the first one issues).")
	fs.StringVar(&o.ServiceAccountSigningKeyFile, "service-account-signing-key-file", o.ServiceAccountSigningKeyFile, "PEM private key (ECDSA or RSA) that signs service-account tokens; generated as <data-dir>/pki/sa.key (ECDSA P-256) when empty. Servers behind one address must share it.")
	fs.StringArrayVar(&o.ServiceAccountKeyFiles, "service-account-key-file", o.ServiceAccountKeyFiles, "PEM public keys, certificates or private keys that verify service-account tokens, besides the signing key; may repeat.")
	fs.StringVar(&o.ServiceAccountJWKSURI, "service-account-jwks-uri", o.ServiceAccountJWKSURI, "jwks_uri of /.well-known/openid-configuration; default <issuer>/openid/v1/jwks.")
	fs.DurationVar(&o.ServiceAccountMaxExpiration, "service-account-max-token-expiration", o.ServiceAccountMaxExpiration, "Longest lifetime a TokenRequest gets (at least 1h); 0 grants what is asked.")
	fs.BoolVar(&o.ServiceAccountExtendExpiration, "service-account-extend-token-expiration", o.ServiceAccountExtendExpiration, "Give pod-bound tokens of the kubelet's lifetime (3607s) a year, warning after the requested lifetime, as Kubernetes does.")
	fs.StringSliceVar(&o.APIAudiences, "api-audiences", o.APIAudiences, "Audiences of this API: service-account tokens must name one, and requests for tokens that name none get these; default the first --service-account-issuer.")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "External etcd endpoints; embedded etcd under --data-dir when empty.")
	fs.StringVar(&o.EtcdCAFile, "etcd-cafile", o.EtcdCAFile, "CA bundle of the external etcd.")
	fs.StringVar(&o.EtcdCertFile, "etcd-certfile", o.EtcdCertFile, "Client certificate for the external etcd.")
	fs.StringVar(&o.EtcdKeyFile, "etcd-keyfile", o.EtcdKeyFile, "Client key for the external etcd.")
	fs.DurationVar(&o.EtcdCompaction, "etcd-compaction-interval", o.EtcdCompaction, "History embedded etcd keeps before compacting; watches older than this get 410 Expired.")
	fs.StringVar(&o.ServiceClusterIPRange, "service-cluster-ip-range", o.ServiceClusterIPRange, "IPv4 CIDR Services' cluster IPs are allocated from (between /12 and /29); its first address is the kubernetes Service's.")
	fs.StringVar(&o.ServiceNodePortRange, "service-node-port-range", o.ServiceNodePortRange, "Ports (first-last, inclusive) NodePort and LoadBalancer Services' node ports are allocated from.")
	fs.StringVar(&o.EncryptionProviderConfig, "encryption-provider-config", o.EncryptionProviderConfig, "EncryptionConfiguration file (apiserver.config.k8s.io/v1): the providers that encrypt resources in etcd (aescbc, aesgcm, secretbox, identity, kms v2); none stores values as they are.")
	fs.IntVar(&o.WatchCacheSize, "default-watch-cache-size", o.WatchCacheSize, "Changes each resource's watch cache keeps for watches that resume.")
	fs.BoolVar(&o.WatchCacheIndex, "watch-cache-index", o.WatchCacheIndex, "Find a change's watchers by namespace and spec.nodeName instead of matching it against every watcher.")
	_ = fs.MarkHidden("watch-cache-index")
	fs.BoolVar(&o.Profiling, "profiling", o.Profiling, "Serve Go profiles under /debug/pprof/ to authenticated users.")
	fs.Int64Var(&o.MaxRequestBodyBytes, "max-request-body-bytes", o.MaxRequestBodyBytes, "Largest request body accepted; larger ones get 413.")
	fs.DurationVar(&o.RequestTimeout, "request-timeout", o.RequestTimeout, "Longest a request that is not long-running (a watch, logs, exec, attach, port-forward, proxy) may take before it is answered with 504 Timeout; a request's timeout parameter may ask for less. 0 bounds none.")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout, "How long a stopping server waits for requests in flight.")
	fs.StringVar(&o.EndpointReconcilerType, "endpoint-reconciler-type", o.EndpointReconcilerType, "How the kubernetes Service's endpoints are kept: lease (each apiserver keeps its --advertise-address under an etcd lease, renewed every 10s, listed while live) or none (left alone).")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay-duration", o.ShutdownDelay, "How long a server told to stop (SIGTERM) keeps serving with /readyz failing, so that load balancers and Endpoints stop sending it new connections, before it stops accepting them and waits for the requests in flight.")
	o.Audit.AddFlags(fs)
	o.Observability.AddFlags(fs)
}

// Validate checks the flags together.
func (o *Options) Validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required"))
	}
	if o.SecurePort <= 0 || o.SecurePort > 65535 {
		errs = append(errs, fmt.Errorf("--secure-port %d is not a port", o.SecurePort))
	}
	if net.ParseIP(o.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address %q is not an IP address", o.BindAddress))
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file go together"))
	}
	if (o.KubeletClientCertificate == "") != (o.KubeletClientKey == "") {
		errs = append(errs, errors.New("--kubelet-client-certificate and --kubelet-client-key go together"))
	}
	errs = append(errs, validateAuthorizationModes(o.AuthorizationMode)...)
	if o.WriteNodeBootstrapKubeconfig && (!o.EnableBootstrapTokenAuth || o.TLSCertFile != "") {
		errs = append(errs, errors.New("--write-node-bootstrap-kubeconfig needs --enable-bootstrap-token-auth and the generated CA (no --tls-cert-file)"))
	}
	if _, err := admission.Build(nil, o.EnableAdmissionPlugins, o.DisableAdmissionPlugins); err != nil {
		errs = append(errs, fmt.Errorf("--enable-admission-plugins/--disable-admission-plugins: %w", err))
	}
	errs = append(errs, o.validateServiceAccounts()...)
	errs = append(errs, o.validateServiceRanges()...)
	if o.EncryptionProviderConfig != "" {
		if _, err := encryption.ReadFile(o.EncryptionProviderConfig); err != nil {
			errs = append(errs, fmt.Errorf("--encryption-provider-config: %w", err))
		}
	}
	errs = append(errs, o.Audit.Validate()...)
	if o.EndpointReconcilerType != "lease" && o.EndpointReconcilerType != "none" {
		errs = append(errs, fmt.Errorf("--endpoint-reconciler-type %q: must be lease or none", o.EndpointReconcilerType))
	}
	if o.ShutdownDelay < 0 {
		errs = append(errs, errors.New("--shutdown-delay-duration must not be negative"))
	}
	if o.MaxRequestBodyBytes <= 0 {
		errs = append(errs, errors.New("--max-request-body-bytes must be positive"))
	}
	if err := o.Observability.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (o *Options) tokenFile() string {
	if o.TokenAuthFile != "" {
		return o.TokenAuthFile
	}
	return filepath.Join(o.DataDir, "tokens.csv")
}

// authorizationModes are the --authorization-mode values understood.
var authorizationModes = []string{"Node", "RBAC", "AlwaysAllow", "AlwaysDeny"}

func validateAuthorizationModes(modes []string) []error {
	var errs []error
	if len(modes) == 0 {
		errs = append(errs, fmt.Errorf("--authorization-mode must name at least one of %s", strings.Join(authorizationModes, ", ")))
	}
	seen := map[string]bool{}
	for _, m := range modes {
		switch {
		case !slices.Contains(authorizationModes, m):
			errs = append(errs, fmt.Errorf("--authorization-mode: unknown mode %q (known: %s)", m, strings.Join(authorizationModes, ", ")))
		case seen[m]:
			errs = append(errs, fmt.Errorf("--authorization-mode: %q is listed twice", m))
		}
		seen[m] = true
	}
	return errs
}
