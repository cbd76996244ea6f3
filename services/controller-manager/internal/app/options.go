// Package app is the controller-manager process: flags, the shared
// informers and the controllers chosen with --controllers, started
// through pkg/component's skeleton (leader election, health, metrics and
// z-pages).
package app

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/component"
	"skiff.dev/services/controller-manager/internal/csrsigning"
	"skiff.dev/services/controller-manager/internal/endpointslicemirroring"
	"skiff.dev/services/controller-manager/internal/nodeipam"
	"skiff.dev/services/controller-manager/internal/resourcequota"
	"skiff.dev/services/controller-manager/internal/rootcacertpublisher"
)

// Options are the controller-manager's flags.
type Options struct {
	// Options are the flags every controlling component has; the secure
	// port is 10257 and the election kube-controller-manager.
	component.Options
	Controllers []string
	// UseServiceAccountCredentials runs each controller as its own
	// service account in kube-system instead of the manager's identity.
	UseServiceAccountCredentials bool
	// Node lifecycle.
	NodeMonitorPeriod      time.Duration
	NodeMonitorGracePeriod time.Duration
	NodeEvictionRate       float64
	// Node IPAM.
	AllocateNodeCIDRs bool
	ClusterCIDR       string
	NodeCIDRMaskSize  int
	// MirroringMaxEndpointsPerSubset is how many addresses of an
	// Endpoints subset the mirroring controller mirrors.
	MirroringMaxEndpointsPerSubset int
	// RootCAFile is the CA bundle the root CA publisher publishes; empty
	// for the one the kubeconfig trusts.
	RootCAFile string
	// ClusterSigningCertFile and ClusterSigningKeyFile are the CA the
	// csrsigning controller signs approved requests with; it runs only
	// with both.
	ClusterSigningCertFile, ClusterSigningKeyFile string
	// ClusterSigningDuration is the longest lifetime a signed certificate
	// gets.
	ClusterSigningDuration time.Duration
	// ResourceQuotaSyncPeriod is how often every quota's use is
	// recounted; 0 recounts only on changes.
	ResourceQuotaSyncPeriod time.Duration
	// Workers per controller, by controller name.
	Workers map[string]*int
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	o := &Options{
		Options:     component.NewOptions(10257, "kube-controller-manager"),
		Controllers: []string{"*"},
		Workers:     map[string]*int{},

		NodeMonitorPeriod:      5 * time.Second,
		NodeMonitorGracePeriod: 40 * time.Second,
		NodeEvictionRate:       0.1,

		NodeCIDRMaskSize: 24,

		MirroringMaxEndpointsPerSubset: endpointslicemirroring.DefaultMaxEndpointsPerSubset,

		ClusterSigningDuration:  csrsigning.DefaultDuration,
		ResourceQuotaSyncPeriod: resourcequota.DefaultResyncPeriod,
	}
	for _, c := range known {
		w := c.workers
		o.Workers[c.name] = &w
	}
	return o
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Options.AddFlags(fs, "Run the controllers")
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, fmt.Sprintf(
		"Controllers to run: '*' for all, 'foo' to add one, '-foo' to leave one out. Known: %s.", strings.Join(names(), ", ")))
	fs.BoolVar(&o.UseServiceAccountCredentials, "use-service-account-credentials", o.UseServiceAccountCredentials, "Run each controller with its own service account's credentials (kube-system/<controller>-controller, bound by the bootstrap policy to system:controller:<account>); the --kubeconfig identity then needs only Kubernetes' system:kube-controller-manager role.")
	fs.DurationVar(&o.NodeMonitorPeriod, "node-monitor-period", o.NodeMonitorPeriod, "How often the node lifecycle controller checks the nodes' heartbeats.")
	fs.DurationVar(&o.NodeMonitorGracePeriod, "node-monitor-grace-period", o.NodeMonitorGracePeriod, "How long a node may go without a heartbeat before it turns Unknown and is tainted unreachable.")
	fs.Float64Var(&o.NodeEvictionRate, "node-eviction-rate", o.NodeEvictionRate, "Nodes per second whose pods may start being evicted.")
	fs.BoolVar(&o.AllocateNodeCIDRs, "allocate-node-cidrs", o.AllocateNodeCIDRs, "Give every Node a pod subnet of --cluster-cidr in spec.podCIDR (the nodeipam controller runs only with it).")
	fs.StringVar(&o.ClusterCIDR, "cluster-cidr", o.ClusterCIDR, "IPv4 range of the pods' addresses, e.g. 10.244.0.0/16, from which Nodes get their subnets.")
	fs.IntVar(&o.NodeCIDRMaskSize, "node-cidr-mask-size", o.NodeCIDRMaskSize, "Prefix length of each Node's pod subnet.")
	fs.IntVar(&o.MirroringMaxEndpointsPerSubset, "mirroring-max-endpoints-per-subset", o.MirroringMaxEndpointsPerSubset,
		"How many addresses of each subset of an Endpoints object the endpointslicemirroring controller mirrors into EndpointSlices; the rest are left out, with a warning event.")
	fs.StringVar(&o.RootCAFile, "root-ca-file", o.RootCAFile, fmt.Sprintf(
		"PEM bundle of the CA that verifies the apiserver, published as ca.crt of the %s ConfigMap in every namespace and read again every %v; empty: the CA --kubeconfig trusts.",
		rootcacertpublisher.ConfigMapName, rootcacertpublisher.DefaultPollPeriod))
	fs.StringVar(&o.ClusterSigningCertFile, "cluster-signing-cert-file", o.ClusterSigningCertFile,
		"PEM CA certificate the csrsigning controller signs approved certificate requests with (kubelets' client and serving certificates, API clients); the controller runs only with it and --cluster-signing-key-file.")
	fs.StringVar(&o.ClusterSigningKeyFile, "cluster-signing-key-file", o.ClusterSigningKeyFile, "PEM private key of --cluster-signing-cert-file.")
	fs.DurationVar(&o.ClusterSigningDuration, "cluster-signing-duration", o.ClusterSigningDuration,
		"Longest lifetime of a signed certificate; a request may ask for less with spec.expirationSeconds (at least 10 minutes).")
	fs.DurationVar(&o.ResourceQuotaSyncPeriod, "resource-quota-sync-period", o.ResourceQuotaSyncPeriod,
		"How often the resourcequota controller recounts every quota's use, besides recounting on changes; 0 recounts only on changes.")
	for _, c := range known {
		if c.workersFlag == "" {
			continue
		}
		fs.IntVar(o.Workers[c.name], c.workersFlag, *o.Workers[c.name], fmt.Sprintf("Workers of the %s controller.", c.name))
	}
}

// Validate checks the flags.
func (o *Options) Validate() error {
	errs := []error{o.Options.Validate()}
	for _, c := range o.Controllers {
		name := strings.TrimPrefix(c, "-")
		if name != "*" && !slices.Contains(names(), name) {
			errs = append(errs, fmt.Errorf("--controllers: unknown controller %q (known: %s)", name, strings.Join(names(), ", ")))
		}
	}
	for name, w := range o.Workers {
		if *w < 1 {
			errs = append(errs, fmt.Errorf("workers of the %s controller: %d, must be at least 1", name, *w))
		}
	}
	if o.NodeMonitorPeriod <= 0 || o.NodeMonitorGracePeriod <= 0 {
		errs = append(errs, fmt.Errorf("--node-monitor-period %v and --node-monitor-grace-period %v must be positive", o.NodeMonitorPeriod, o.NodeMonitorGracePeriod))
	}
	if o.ResourceQuotaSyncPeriod < 0 {
		errs = append(errs, fmt.Errorf("--resource-quota-sync-period %v: must not be negative", o.ResourceQuotaSyncPeriod))
	}
	if o.NodeEvictionRate <= 0 {
		errs = append(errs, fmt.Errorf("--node-eviction-rate %v: must be positive", o.NodeEvictionRate))
	}
	if m := o.MirroringMaxEndpointsPerSubset; m < 1 || m > endpointslicemirroring.MaxMaxEndpointsPerSubset {
		errs = append(errs, fmt.Errorf("--mirroring-max-endpoints-per-subset %d: must be from 1 to %d", m, endpointslicemirroring.MaxMaxEndpointsPerSubset))
	}
	if (o.ClusterSigningCertFile == "") != (o.ClusterSigningKeyFile == "") {
		errs = append(errs, errors.New("--cluster-signing-cert-file and --cluster-signing-key-file go together"))
	}
	if o.ClusterSigningDuration <= 0 {
		errs = append(errs, fmt.Errorf("--cluster-signing-duration %v: must be positive", o.ClusterSigningDuration))
	}
	errs = append(errs, o.validateNodeCIDRs())
	return errors.Join(errs...)
}

// validateNodeCIDRs checks --cluster-cidr and --node-cidr-mask-size when
// they are used.
func (o *Options) validateNodeCIDRs() error {
	if o.ClusterCIDR == "" {
		if o.AllocateNodeCIDRs {
			return errors.New("--allocate-node-cidrs needs --cluster-cidr, the IPv4 range the Nodes' pod subnets come from (e.g. 10.244.0.0/16)")
		}
		return nil
	}
	cidr, err := netip.ParsePrefix(o.ClusterCIDR)
	if err != nil {
		return fmt.Errorf("--cluster-cidr %q: not a CIDR (e.g. 10.244.0.0/16)", o.ClusterCIDR)
	}
	if _, err := nodeipam.NewCIDRSet(cidr, o.NodeCIDRMaskSize); err != nil {
		return fmt.Errorf("--cluster-cidr %s, --node-cidr-mask-size %d: %w", o.ClusterCIDR, o.NodeCIDRMaskSize, err)
	}
	return nil
}

// clusterCIDR is --cluster-cidr, parsed (Validate checked it).
func (o *Options) clusterCIDR() netip.Prefix {
	cidr, _ := netip.ParsePrefix(o.ClusterCIDR)
	return cidr
}

// rootCA is where the root CA publisher reads its bundle: --root-ca-file,
// or else the CA of --kubeconfig, as kube-controller-manager falls back.
func (o *Options) rootCA() rootcacertpublisher.Source {
	if o.RootCAFile != "" {
		return rootcacertpublisher.FileSource(o.RootCAFile)
	}
	return rootcacertpublisher.KubeconfigSource(o.Kubeconfig)
}

// Enabled reports whether --controllers selects a controller; nodeipam
// also needs --allocate-node-cidrs and csrsigning the signing CA's files,
// as in Kubernetes.
func (o *Options) Enabled(name string) bool {
	if name == nodeipam.Name && !o.AllocateNodeCIDRs || name == csrsigning.Name && o.ClusterSigningCertFile == "" {
		return false
	}
	on := false
	for _, c := range o.Controllers {
		switch c {
		case "*":
			on = true
		case name:
			return true
		case "-" + name:
			return false
		}
	}
	return on
}
