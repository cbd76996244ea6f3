// Package app is the kubelet process: flags, the connection to the
// container runtime, node registration and heartbeats, the pods bound to
// the node, static pods, image preloading, and the health endpoints.
package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/component"
	"skiff.dev/services/kubelet/internal/sysctls"
)

// Options are the kubelet's flags, named as Kubernetes' kubelet names them
// where the concept is the same.
type Options struct {
	component.Observability
	Kubeconfig                string
	BootstrapKubeconfig       string
	CertDir                   string
	RotateCertificates        bool
	ContainerRuntimeEndpoint  string
	Runtime                   string
	HollowNodes               int
	HostnameOverride          string
	NodeIP                    string
	RootDir                   string
	PodManifestPath           string
	FileCheckFrequency        time.Duration
	ImagePreloadDir           string
	CgroupRoot                string
	CloudProvider             string
	NodeLabels                map[string]string
	MaxPods                   int
	SystemReserved            map[string]string
	NodeStatusUpdateFrequency time.Duration
	NodeLeaseDurationSeconds  int
	SyncFrequency             time.Duration
	RestartBackoff            time.Duration
	MaxRestartBackoff         time.Duration
	ImageGCHighThreshold      int
	ImageGCLowThreshold       int
	Address                   string
	Port                      int
	TLSCertFile               string
	TLSPrivateKeyFile         string
	ClientCAFile              string
	HealthzBindAddress        string
	Profiling                 bool
	AllowedUnsafeSysctls      []string
	ClusterDNS                []string
	ClusterDomain             string
	ResolvConf                string

	// flags is the flag set AddFlags registered into, for /flagz.
	flags *pflag.FlagSet
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Observability:             component.DefaultObservability(),
		ContainerRuntimeEndpoint:  "unix:///run/containerd/containerd.sock",
		Runtime:                   "remote",
		RotateCertificates:        true,
		RootDir:                   "/var/lib/kubelet",
		FileCheckFrequency:        20 * time.Second,
		NodeLabels:                map[string]string{},
		MaxPods:                   110,
		SystemReserved:            map[string]string{},
		NodeStatusUpdateFrequency: 10 * time.Second,
		NodeLeaseDurationSeconds:  40,
		SyncFrequency:             time.Minute,
		RestartBackoff:            10 * time.Second,
		MaxRestartBackoff:         5 * time.Minute,
		ImageGCHighThreshold:      85,
		ImageGCLowThreshold:       80,
		Address:                   "0.0.0.0",
		Port:                      10250,
		HealthzBindAddress:        "127.0.0.1:10248",
		Profiling:                 true,
		ClusterDomain:             "cluster.local",
		ResolvConf:                "/etc/resolv.conf",
	}
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.flags = fs
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the apiserver and the kubelet's credentials; with --bootstrap-kubeconfig, written by the kubelet when missing.")
	fs.StringVar(&o.BootstrapKubeconfig, "bootstrap-kubeconfig", o.BootstrapKubeconfig, "Kubeconfig with a bootstrap token: when --kubeconfig is missing or its client certificate has expired, the kubelet asks with it for a client certificate of system:node:<node name> (a CertificateSigningRequest to kubernetes.io/kube-apiserver-client-kubelet), keeps it in --cert-dir and writes --kubeconfig pointing at it.")
	fs.StringVar(&o.CertDir, "cert-dir", o.CertDir, "Directory of the kubelet's client certificates (kubelet-client-current.pem); default <root-dir>/pki.")
	fs.BoolVar(&o.RotateCertificates, "rotate-certificates", o.RotateCertificates, "With --bootstrap-kubeconfig: renew the client certificate in --cert-dir when 70-90% of its lifetime has passed, as the node's own identity.")
	fs.StringVar(&o.ContainerRuntimeEndpoint, "container-runtime-endpoint", o.ContainerRuntimeEndpoint, "CRI endpoint of the container runtime (unix://).")
	fs.StringVar(&o.Runtime, "runtime", o.Runtime, "Container runtime backend: remote (CRI at --container-runtime-endpoint) or fake (no containers: hollow nodes for benchmarks only).")
	fs.IntVar(&o.HollowNodes, "hollow-nodes", o.HollowNodes, "With --runtime=fake: simulate this many nodes in this process, named <node name>-<i> (benchmarks only).")
	fs.StringVar(&o.HostnameOverride, "hostname-override", o.HostnameOverride, "Node name instead of the host name.")
	fs.StringVar(&o.NodeIP, "node-ip", o.NodeIP, "IP address of the node (default: the address of the interface of the default route).")
	fs.StringVar(&o.RootDir, "root-dir", o.RootDir, "Directory for pod volumes, container logs and the kubelet's state.")
	fs.StringVar(&o.PodManifestPath, "pod-manifest-path", o.PodManifestPath, "Directory of static pod manifests (YAML or JSON); empty disables static pods.")
	fs.DurationVar(&o.FileCheckFrequency, "file-check-frequency", o.FileCheckFrequency, "How often the static pod manifests are read again.")
	fs.StringVar(&o.ImagePreloadDir, "image-preload-dir", o.ImagePreloadDir, "Directory of OCI or docker-archive image tarballs imported into the runtime at start.")
	fs.StringVar(&o.CgroupRoot, "cgroup-root", o.CgroupRoot, "Cgroup under which the kubepods hierarchy is made (cgroupfs driver).")
	fs.StringVar(&o.CloudProvider, "cloud-provider", o.CloudProvider, "external: a cloud-controller initializes the Node, which registers with the node.cloudprovider.kubernetes.io/uninitialized taint until then; empty: none.")
	fs.StringToStringVar(&o.NodeLabels, "node-labels", o.NodeLabels, "Labels added to the Node when it registers (key=value,...).")
	fs.IntVar(&o.MaxPods, "max-pods", o.MaxPods, "Pods this node can run.")
	fs.StringToStringVar(&o.SystemReserved, "system-reserved", o.SystemReserved, "Resources held back from pods (cpu=500m,memory=1Gi,ephemeral-storage=1Gi).")
	fs.DurationVar(&o.NodeStatusUpdateFrequency, "node-status-update-frequency", o.NodeStatusUpdateFrequency, "How often the node's status (conditions, images) is reported when nothing changes.")
	fs.IntVar(&o.NodeLeaseDurationSeconds, "node-lease-duration-seconds", o.NodeLeaseDurationSeconds, "Duration of the node's Lease; it is renewed every quarter of it.")
	fs.DurationVar(&o.SyncFrequency, "sync-frequency", o.SyncFrequency, "How often every pod is synced even without changes (ConfigMap and Secret volumes are refreshed then).")
	fs.DurationVar(&o.RestartBackoff, "container-restart-backoff", o.RestartBackoff, "First delay of CrashLoopBackOff; it doubles with each restart.")
	fs.DurationVar(&o.MaxRestartBackoff, "container-restart-backoff-max", o.MaxRestartBackoff, "Longest delay of CrashLoopBackOff.")
	fs.IntVar(&o.ImageGCHighThreshold, "image-gc-high-threshold", o.ImageGCHighThreshold, "Disk usage percent of the image filesystem above which unused images are removed.")
	fs.IntVar(&o.ImageGCLowThreshold, "image-gc-low-threshold", o.ImageGCLowThreshold, "Disk usage percent image garbage collection brings the image filesystem down to.")
	fs.StringVar(&o.Address, "address", o.Address, "Address of the HTTPS server for logs and exec.")
	fs.IntVar(&o.Port, "port", o.Port, "Port of the HTTPS server for logs and exec; 0 disables it.")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", o.TLSCertFile, "Serving certificate (default: self-signed, generated into --root-dir/pki).")
	fs.StringVar(&o.TLSPrivateKeyFile, "tls-private-key-file", o.TLSPrivateKeyFile, "Key of --tls-cert-file.")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", o.ClientCAFile, "CA whose client certificates may use the HTTPS server (the apiserver's); without it the server refuses every request.")
	fs.StringVar(&o.HealthzBindAddress, "healthz-bind-address", o.HealthzBindAddress, "Address serving /healthz and /livez (the process serves) and /readyz (its informers have synced) over HTTP, to anyone; empty disables it.")
	o.Observability.AddFlags(fs)
	fs.BoolVar(&o.Profiling, "profiling", o.Profiling, "Serve Go profiles under /debug/pprof/ on the HTTPS server (--port), to users the apiserver authorizes for nodes/proxy.")
	fs.StringSliceVar(&o.ClusterDNS, "cluster-dns", o.ClusterDNS, "Comma-separated IP addresses of the cluster DNS servers, the nameservers of pods with dnsPolicy ClusterFirst; without any, those pods get the Default policy's resolver configuration (with a MissingClusterDNS event).")
	fs.StringVar(&o.ClusterDomain, "cluster-domain", o.ClusterDomain, "The cluster's DNS domain: ClusterFirst pods search <namespace>.svc.<domain>, svc.<domain> and <domain> before the host's search paths, and a pod with a subdomain is named <hostname>.<subdomain>.<namespace>.svc.<domain>. Empty adds neither.")
	fs.StringVar(&o.ResolvConf, "resolv-conf", o.ResolvConf, "Resolver configuration pods with dnsPolicy Default start from (its nameservers, search paths and options; ClusterFirst pods take its search paths too); empty: none, such pods ask 127.0.0.1.")
	fs.StringSliceVar(&o.AllowedUnsafeSysctls, "allowed-unsafe-sysctls", o.AllowedUnsafeSysctls, "Namespaced sysctls (or prefixes ending in *) pods may set beyond the safe ones, e.g. 'kernel.msg*,net.core.somaxconn'; others are rejected with SysctlForbidden.")
}

// Validate checks the flags.
func (o *Options) Validate() error {
	var errs []error
	if o.Kubeconfig == "" {
		errs = append(errs, errors.New("--kubeconfig is required"))
	}
	if o.BootstrapKubeconfig != "" && o.HollowNodes > 0 {
		errs = append(errs, errors.New("--bootstrap-kubeconfig: hollow nodes share one identity and cannot bootstrap"))
	}
	if o.Runtime != "remote" && o.Runtime != "fake" {
		errs = append(errs, fmt.Errorf("--runtime %q: want remote or fake", o.Runtime))
	}
	if o.HollowNodes < 0 || (o.HollowNodes > 0 && o.Runtime != "fake") {
		errs = append(errs, fmt.Errorf("--hollow-nodes %d: needs --runtime=fake and must not be negative", o.HollowNodes))
	}
	if o.NodeIP != "" && net.ParseIP(o.NodeIP) == nil {
		errs = append(errs, fmt.Errorf("--node-ip %q: not an IP address", o.NodeIP))
	}
	for _, ip := range o.ClusterDNS {
		if net.ParseIP(ip) == nil {
			errs = append(errs, fmt.Errorf("--cluster-dns %q: not an IP address", ip))
		}
	}
	if o.RootDir == "" {
		errs = append(errs, errors.New("--root-dir must not be empty"))
	}
	if o.CloudProvider != "" && o.CloudProvider != "external" {
		errs = append(errs, fmt.Errorf("--cloud-provider %q: want external or nothing (in-tree providers do not exist)", o.CloudProvider))
	}
	if o.MaxPods < 1 {
		errs = append(errs, fmt.Errorf("--max-pods %d: must be at least 1", o.MaxPods))
	}
	for k := range o.SystemReserved {
		if k != "cpu" && k != "memory" && k != "ephemeral-storage" && k != "pid" {
			errs = append(errs, fmt.Errorf("--system-reserved %s: want cpu, memory, ephemeral-storage or pid", k))
		}
	}
	if o.NodeLeaseDurationSeconds < 4 {
		errs = append(errs, fmt.Errorf("--node-lease-duration-seconds %d: must be at least 4", o.NodeLeaseDurationSeconds))
	}
	if o.FileCheckFrequency <= 0 {
		errs = append(errs, fmt.Errorf("--file-check-frequency %v: must be positive", o.FileCheckFrequency))
	}
	if o.NodeStatusUpdateFrequency <= 0 || o.SyncFrequency <= 0 {
		errs = append(errs, fmt.Errorf("--node-status-update-frequency %v and --sync-frequency %v must be positive", o.NodeStatusUpdateFrequency, o.SyncFrequency))
	}
	if o.RestartBackoff <= 0 || o.MaxRestartBackoff < o.RestartBackoff {
		errs = append(errs, fmt.Errorf("--container-restart-backoff %v must be positive and at most --container-restart-backoff-max %v", o.RestartBackoff, o.MaxRestartBackoff))
	}
	if o.ImageGCLowThreshold < 0 || o.ImageGCHighThreshold > 100 || o.ImageGCLowThreshold >= o.ImageGCHighThreshold {
		errs = append(errs, fmt.Errorf("--image-gc-low-threshold %d must be below --image-gc-high-threshold %d, both within 0-100", o.ImageGCLowThreshold, o.ImageGCHighThreshold))
	}
	if _, err := sysctls.New(sysctls.KernelVersion(), o.AllowedUnsafeSysctls); err != nil {
		errs = append(errs, fmt.Errorf("--allowed-unsafe-sysctls: %w", err))
	}
	if (o.TLSCertFile == "") != (o.TLSPrivateKeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file go together"))
	}
	if err := o.Observability.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Flags are every flag's value in use, by name.
func (o *Options) Flags() map[string]string { return component.FlagValues(o.flags) }

// certDir is --cert-dir, or <root-dir>/pki.
func (o *Options) certDir() string {
	if o.CertDir != "" {
		return o.CertDir
	}
	return filepath.Join(o.RootDir, "pki")
}

// nodeName is --hostname-override or the host name, lower-cased as
// Kubernetes does.
func (o *Options) nodeName() string {
	if o.HostnameOverride != "" {
		return strings.ToLower(strings.TrimSpace(o.HostnameOverride))
	}
	h, _ := os.Hostname()
	return strings.ToLower(h)
}
