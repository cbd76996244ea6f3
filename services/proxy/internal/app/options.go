// Package app is the proxy process: flags, the Service and EndpointSlice
// informers, the sync loop that turns them into packet rules through the
// chosen backend, and the health and metrics endpoints.
package app

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/component"
)

// The proxy modes --proxy-mode accepts.
const (
	ModeNftables = "nftables"
	ModeIptables = "iptables"
)

// Options are the proxy's flags, named as kube-proxy names them.
type Options struct {
	component.Observability
	Kubeconfig       string
	HostnameOverride string
	ProxyMode        string
	ClusterCIDR      string
	// NodePortAddresses are the addresses NodePorts answer on; empty means
	// every local address.
	NodePortAddresses  []string
	MasqueradeBit      int
	MinSyncPeriod      time.Duration
	SyncPeriod         time.Duration
	HealthzBindAddress string
	MetricsBindAddress string
	Profiling          bool
	Cleanup            bool
	// NetworkPolicy enforces NetworkPolicies on this node's pods.
	NetworkPolicy bool

	// flags is the flag set AddFlags registered into, for /flagz.
	flags *pflag.FlagSet
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	host, _ := os.Hostname()
	return &Options{
		Observability:      component.DefaultObservability(),
		HostnameOverride:   strings.ToLower(host),
		ProxyMode:          ModeNftables,
		MasqueradeBit:      14,
		MinSyncPeriod:      time.Second,
		SyncPeriod:         30 * time.Second,
		HealthzBindAddress: "0.0.0.0:10256",
		MetricsBindAddress: "127.0.0.1:10249",
		NetworkPolicy:      true,
	}
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.flags = fs
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the apiserver.")
	fs.StringVar(&o.HostnameOverride, "hostname-override", o.HostnameOverride, "This node's name, as its kubelet registered it (policy Local picks the endpoints on it).")
	fs.StringVar(&o.ProxyMode, "proxy-mode", o.ProxyMode, "How Services are programmed: nftables (table ip skiff-proxy) or iptables (SKIFF- chains in the nat and filter tables).")
	fs.StringVar(&o.ClusterCIDR, "cluster-cidr", o.ClusterCIDR, "The pod network (IPv4 CIDR); ClusterIP traffic from outside it is masqueraded. Empty: none is.")
	fs.StringSliceVar(&o.NodePortAddresses, "nodeport-addresses", o.NodePortAddresses, "Node addresses NodePorts answer on (comma-separated IPv4 addresses); empty: every local address but loopback.")
	fs.IntVar(&o.MasqueradeBit, "masquerade-bit", o.MasqueradeBit, "The packet-mark bit (0-31) that asks for source NAT.")
	fs.DurationVar(&o.MinSyncPeriod, "min-sync-period", o.MinSyncPeriod, "The least time between two syncs: changes arriving faster are applied together.")
	fs.DurationVar(&o.SyncPeriod, "sync-period", o.SyncPeriod, "How often every rule is rewritten and leftovers removed (a full resync), whatever changed.")
	fs.StringVar(&o.HealthzBindAddress, "healthz-bind-address", o.HealthzBindAddress, "Address serving /healthz and /livez (the rules are synced) and /readyz (the informers have synced) over HTTP, to anyone; empty disables it.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Address serving /metrics, the z-pages /statusz, /flagz and /configz (JSON, and the ComponentStatusService over gRPC) and /debug/pprof/ with --profiling over HTTPS to users the apiserver authorizes, with a self-signed certificate; empty disables it.")
	fs.BoolVar(&o.Profiling, "profiling", o.Profiling, "Serve Go profiles under /debug/pprof/ on the metrics address.")
	fs.BoolVar(&o.NetworkPolicy, "network-policy", o.NetworkPolicy, "Enforce NetworkPolicies on this node's pods in the nftables table inet skiff-netpol (needs nft, and bridge-nf-call-iptables=1 for traffic between pods on one bridge); false removes that table.")
	fs.BoolVar(&o.Cleanup, "cleanup", o.Cleanup, "Remove every rule the proxy creates, in both modes, and exit.")
	o.Observability.AddFlags(fs)
}

// Flags are every flag's value in use, by name.
func (o *Options) Flags() map[string]string { return component.FlagValues(o.flags) }

// Validate checks the flags.
func (o *Options) Validate() error {
	var errs []error
	if o.Kubeconfig == "" && !o.Cleanup {
		errs = append(errs, errors.New("--kubeconfig is required"))
	}
	if o.HostnameOverride == "" {
		errs = append(errs, errors.New("--hostname-override: empty, and the host has no name"))
	}
	if o.ProxyMode != ModeNftables && o.ProxyMode != ModeIptables {
		errs = append(errs, fmt.Errorf("--proxy-mode %q: must be %s or %s", o.ProxyMode, ModeNftables, ModeIptables))
	}
	if o.ClusterCIDR != "" {
		if p, err := netip.ParsePrefix(o.ClusterCIDR); err != nil || !p.Addr().Is4() {
			errs = append(errs, fmt.Errorf("--cluster-cidr %q: not an IPv4 CIDR", o.ClusterCIDR))
		}
	}
	for _, a := range o.NodePortAddresses {
		if ip, err := netip.ParseAddr(a); err != nil || !ip.Is4() {
			errs = append(errs, fmt.Errorf("--nodeport-addresses: %q is not an IPv4 address", a))
		}
	}
	if o.MasqueradeBit < 0 || o.MasqueradeBit > 31 {
		errs = append(errs, fmt.Errorf("--masquerade-bit %d: must be 0-31", o.MasqueradeBit))
	}
	if o.MinSyncPeriod < 0 {
		errs = append(errs, fmt.Errorf("--min-sync-period %v: must not be negative", o.MinSyncPeriod))
	}
	if o.SyncPeriod <= 0 || o.SyncPeriod < o.MinSyncPeriod {
		errs = append(errs, fmt.Errorf("--sync-period %v: must be positive and at least --min-sync-period", o.SyncPeriod))
	}
	if err := o.Observability.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
