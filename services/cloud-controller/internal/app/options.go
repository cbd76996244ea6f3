// Package app is the cloud-controller process: flags, the Service and
// Node informers, the cloud provider (the built-in local one or a plugin
// program) and the node, service and route controllers, started through
// pkg/component's skeleton (leader election, health, metrics and
// z-pages).
package app

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/component"
	"skiff.dev/services/cloud-controller/internal/local"
	"skiff.dev/services/cloud-controller/internal/node"
	"skiff.dev/services/cloud-controller/internal/pvlabel"
	"skiff.dev/services/cloud-controller/internal/route"
	"skiff.dev/services/cloud-controller/internal/service"
)

// Election is the leader election (and kube-system Lease) name.
const Election = "cloud-controller-manager"

// controllers are the names --controllers knows.
var controllers = []string{node.Name, service.Name, route.Name, pvlabel.Name}

// Options are the cloud-controller's flags.
type Options struct {
	// Options are the flags every controlling component has; the secure
	// port is 10258 and the election cloud-controller-manager.
	component.Options
	// CloudProvider is "local" or the path of a provider plugin program.
	CloudProvider string
	CloudConfig   string
	// cloudConfig is CloudConfig's content, read by Validate.
	cloudConfig []byte
	ClusterName string
	Controllers []string

	ClusterCIDR               string
	ConfigureCloudRoutes      bool
	RouteReconciliationPeriod time.Duration
	NodeMonitorPeriod         time.Duration
	NodeStatusUpdateFrequency time.Duration
	ConcurrentServiceSyncs    int
	ConcurrentNodeSyncs       int
	// PluginCallTimeout bounds each call to a provider plugin.
	PluginCallTimeout time.Duration
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Options:                   component.NewOptions(10258, Election),
		CloudProvider:             local.Name,
		ClusterName:               "kubernetes",
		Controllers:               []string{"*"},
		ConfigureCloudRoutes:      true,
		RouteReconciliationPeriod: 10 * time.Second,
		NodeMonitorPeriod:         5 * time.Second,
		NodeStatusUpdateFrequency: 5 * time.Minute,
		ConcurrentServiceSyncs:    1,
		ConcurrentNodeSyncs:       1,
		PluginCallTimeout:         time.Minute,
	}
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Options.AddFlags(fs, "Run the controllers")
	fs.StringVar(&o.CloudProvider, "cloud-provider", o.CloudProvider, "'local' for the built-in provider (bare metal, dev), or the path of a cloud provider plugin program.")
	fs.StringVar(&o.CloudConfig, "cloud-config", o.CloudConfig, "File with the cloud provider's configuration, handed to the provider as it is (local: zone, region, instanceType, loadBalancerPool).")
	fs.StringVar(&o.ClusterName, "cluster-name", o.ClusterName, "The cluster's name, passed to the provider to name cloud resources.")
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, fmt.Sprintf(
		"Controllers to run: '*' for all, 'foo' to add one, '-foo' to leave one out. Known: %s.", strings.Join(controllers, ", ")))
	fs.StringVar(&o.ClusterCIDR, "cluster-cidr", o.ClusterCIDR, "CIDR of the pods; the route controller deletes only routes inside it (empty: any route whose node is gone).")
	fs.BoolVar(&o.ConfigureCloudRoutes, "configure-cloud-routes", o.ConfigureCloudRoutes, "Create cloud routes for the nodes' pod CIDRs (when the provider supports routes).")
	fs.DurationVar(&o.RouteReconciliationPeriod, "route-reconciliation-period", o.RouteReconciliationPeriod, "How often the routes are reconciled even without node changes.")
	fs.DurationVar(&o.NodeMonitorPeriod, "node-monitor-period", o.NodeMonitorPeriod, "How often nodes that are not Ready are checked against their instances (deleted when gone, tainted when shut down).")
	fs.DurationVar(&o.NodeStatusUpdateFrequency, "node-status-update-frequency", o.NodeStatusUpdateFrequency, "How often the nodes' addresses are refreshed from the provider.")
	fs.IntVar(&o.ConcurrentServiceSyncs, "concurrent-service-syncs", o.ConcurrentServiceSyncs, "Workers of the service controller.")
	fs.IntVar(&o.ConcurrentNodeSyncs, "concurrent-node-syncs", o.ConcurrentNodeSyncs, "Workers of the node controller.")
	fs.DurationVar(&o.PluginCallTimeout, "cloud-provider-call-timeout", o.PluginCallTimeout, "Bound on each call to a provider plugin; a plugin that takes longer is restarted.")
}

// Validate checks the flags; the local provider's configuration is read
// and checked too.
func (o *Options) Validate() error {
	errs := []error{o.Options.Validate(), o.validateProvider()}
	for _, c := range o.Controllers {
		name := strings.TrimPrefix(c, "-")
		if name != "*" && !slices.Contains(controllers, name) {
			errs = append(errs, fmt.Errorf("--controllers: unknown controller %q (known: %s)", name, strings.Join(controllers, ", ")))
		}
	}
	if o.ClusterCIDR != "" {
		if _, err := netip.ParsePrefix(o.ClusterCIDR); err != nil {
			errs = append(errs, fmt.Errorf("--cluster-cidr %q: want a CIDR such as 10.244.0.0/16", o.ClusterCIDR))
		}
	}
	for flag, d := range map[string]time.Duration{"--route-reconciliation-period": o.RouteReconciliationPeriod,
		"--node-monitor-period": o.NodeMonitorPeriod, "--node-status-update-frequency": o.NodeStatusUpdateFrequency,
		"--cloud-provider-call-timeout": o.PluginCallTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive", flag, d))
		}
	}
	if o.ConcurrentServiceSyncs < 1 || o.ConcurrentNodeSyncs < 1 {
		errs = append(errs, fmt.Errorf("--concurrent-service-syncs %d and --concurrent-node-syncs %d: must be at least 1",
			o.ConcurrentServiceSyncs, o.ConcurrentNodeSyncs))
	}
	return errors.Join(errs...)
}

// validateProvider checks --cloud-provider and reads --cloud-config once,
// keeping its bytes for Run.
func (o *Options) validateProvider() error {
	var config []byte
	if o.CloudConfig != "" {
		var err error
		if config, err = os.ReadFile(o.CloudConfig); err != nil {
			return fmt.Errorf("--cloud-config: %w", err)
		}
	}
	o.cloudConfig = config
	if o.CloudProvider == local.Name {
		if _, _, err := local.ParseConfig(config); err != nil {
			return fmt.Errorf("--cloud-config %s: %w", o.CloudConfig, err)
		}
		return nil
	}
	if o.CloudProvider == "" {
		return errors.New("--cloud-provider is required: 'local' or the path of a provider plugin program")
	}
	fi, err := os.Stat(o.CloudProvider)
	if err != nil {
		return fmt.Errorf("--cloud-provider %q is neither 'local' nor a provider plugin program: %w", o.CloudProvider, err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("--cloud-provider %s: not an executable file", o.CloudProvider)
	}
	return nil
}

// Enabled reports whether --controllers selects a controller.
func (o *Options) Enabled(name string) bool {
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
