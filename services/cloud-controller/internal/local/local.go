// Package local is the built-in cloud provider for bare metal and
// development: the instances are the Nodes themselves, and Services of type
// LoadBalancer get addresses from a configured pool, never one address for
// two Services. It keeps the addresses in memory; the cloud-controller
// rebuilds that memory after every start by ensuring the Services that
// already show an address first, which keep it.
package local

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/cloudprovider"
)

// Name is the provider's name and the scheme of its provider IDs.
const Name = "local"

// ProvidedNodeIPAnnotation is where a kubelet run with an external cloud
// provider records its --node-ip.
const ProvidedNodeIPAnnotation = "alpha.kubernetes.io/provided-node-ip"

var (
	_ cloudprovider.Initializer   = (*Provider)(nil)
	_ cloudprovider.Instances     = (*Provider)(nil)
	_ cloudprovider.LoadBalancer  = (*Provider)(nil)
	_ cloudprovider.ZoneReporter  = (*Provider)(nil)
	_ cloudprovider.VolumeLabeler = (*Provider)(nil)
)

// Provider is the local provider. The zero value has an empty pool until
// Initialize.
type Provider struct {
	mu    sync.Mutex
	cfg   Config
	pool  []ipRange
	byIP  map[netip.Addr]string // address → the Service ("namespace/name") holding it
	bySvc map[string]netip.Addr
}

// New is a provider with a configuration (the --cloud-config contents).
func New(config []byte) (*Provider, error) {
	p := &Provider{}
	if err := p.Initialize(context.Background(), config, ""); err != nil {
		return nil, err
	}
	return p, nil
}

// Initialize reads the configuration and forgets every address handed
// out.
func (p *Provider) Initialize(_ context.Context, config []byte, _ string) error {
	cfg, pool, err := ParseConfig(config)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg, p.pool = cfg, pool
	p.byIP, p.bySvc = map[netip.Addr]string{}, map[string]netip.Addr{}
	return nil
}

// HasZones reports whether nodes get zone or region labels.
func (p *Provider) HasZones() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.Zone != "" || p.cfg.Region != ""
}

// InstanceExists is true: the Node is the instance.
func (p *Provider) InstanceExists(context.Context, *corev1.Node) (bool, error) { return true, nil }

// InstanceShutdown is false: a local machine that is off shows as a
// NotReady node instead.
func (p *Provider) InstanceShutdown(context.Context, *corev1.Node) (bool, error) { return false, nil }

// InstanceMetadata takes the addresses from the Node: the kubelet's
// provided node IP, else the addresses it reported, else its name as
// Hostname.
func (p *Provider) InstanceMetadata(_ context.Context, n *corev1.Node) (*cloudprovider.InstanceMetadata, error) {
	p.mu.Lock()
	cfg := p.cfg
	p.mu.Unlock()
	name := n.GetMetadata().GetName()
	md := &cloudprovider.InstanceMetadata{ProviderID: Name + "://" + name, InstanceType: cfg.InstanceType,
		Zone: cfg.Zone, Region: cfg.Region}
	if ip := n.GetMetadata().GetAnnotations()[ProvidedNodeIPAnnotation]; ip != "" {
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("node %s: annotation %s=%q is not an IP address", name, ProvidedNodeIPAnnotation, ip)
		}
		md.Addresses = []*corev1.NodeAddress{{Type: "InternalIP", Address: ip}, {Type: "Hostname", Address: name}}
		return md, nil
	}
	for _, a := range n.GetStatus().GetAddresses() {
		md.Addresses = append(md.Addresses, &corev1.NodeAddress{Type: a.GetType(), Address: a.GetAddress()})
	}
	if len(md.Addresses) == 0 {
		md.Addresses = []*corev1.NodeAddress{{Type: "Hostname", Address: name}}
	}
	return md, nil
}

// GetVolumeLabels gives a volume pinned to one node that node's zone and
// region labels (the configured ones, as every local node has); a volume
// not pinned to a node gets none.
func (p *Provider) GetVolumeLabels(_ context.Context, _ *corev1.PersistentVolume, node *corev1.Node) (map[string]string, error) {
	if node == nil {
		return nil, nil
	}
	p.mu.Lock()
	cfg := p.cfg
	p.mu.Unlock()
	out := map[string]string{}
	if cfg.Zone != "" {
		out[zoneLabel] = cfg.Zone
	}
	if cfg.Region != "" {
		out[regionLabel] = cfg.Region
	}
	return out, nil
}

// The labels of a zone, as Kubernetes names them.
const (
	zoneLabel   = "topology.kubernetes.io/zone"
	regionLabel = "topology.kubernetes.io/region"
)
