// Package cloudprovider is the Go side of the cloud provider contract
// (proto/skiff/cloudprovider/v1): the parts a provider implements
// (Instances, LoadBalancer, Routes), Serve for provider plugins, and
// StartPlugin for the cloud-controller, which runs a plugin program
// through hashicorp/go-plugin and restarts it when it dies.
//
// A provider plugin is a program whose main hands its implementation to
// Serve; the cloud-controller calls only the parts it implements:
//
//	func main() {
//		cloudprovider.Serve("mycloud", &provider{})
//	}
package cloudprovider

import (
	"context"

	"github.com/hashicorp/go-plugin"

	corev1 "skiff.dev/api/core/v1"
)

// Initializer is implemented by providers that take a configuration: the
// contents of --cloud-config (nil when none) and --cluster-name, given
// once after every start, before any other call.
type Initializer interface {
	Initialize(ctx context.Context, config []byte, clusterName string) error
}

// Instances answers questions about the machines behind Nodes.
type Instances interface {
	// InstanceExists reports whether the node's instance still exists.
	InstanceExists(ctx context.Context, node *corev1.Node) (bool, error)
	// InstanceShutdown reports whether the node's instance is shut down.
	InstanceShutdown(ctx context.Context, node *corev1.Node) (bool, error)
	// InstanceMetadata describes the node's instance.
	InstanceMetadata(ctx context.Context, node *corev1.Node) (*InstanceMetadata, error)
}

// InstanceMetadata is what a provider knows about a node's instance.
type InstanceMetadata struct {
	// ProviderID is "<provider>://<id>", for spec.providerID.
	ProviderID string
	// InstanceType is the node.kubernetes.io/instance-type label.
	InstanceType string
	// Addresses are the node's status.addresses.
	Addresses []*corev1.NodeAddress
	// Zone and Region are the topology.kubernetes.io labels.
	Zone, Region string
}

// LoadBalancer manages the load balancers of Services of type
// LoadBalancer.
type LoadBalancer interface {
	// GetLoadBalancer returns the service's load balancer, if any.
	GetLoadBalancer(ctx context.Context, clusterName string, svc *corev1.Service) (*corev1.LoadBalancerStatus, bool, error)
	// EnsureLoadBalancer creates or updates the service's load balancer
	// toward nodes and returns its addresses. svc carries its status: a
	// provider may keep the addresses it shows.
	EnsureLoadBalancer(ctx context.Context, clusterName string, svc *corev1.Service, nodes []*corev1.Node) (*corev1.LoadBalancerStatus, error)
	// UpdateLoadBalancer changes the nodes of an existing load balancer.
	UpdateLoadBalancer(ctx context.Context, clusterName string, svc *corev1.Service, nodes []*corev1.Node) error
	// EnsureLoadBalancerDeleted releases the load balancer; one that does
	// not exist is no error.
	EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, svc *corev1.Service) error
}

// Route sends a destination CIDR to a node.
type Route struct {
	// Name is the provider's name for the route.
	Name string
	// TargetNode is the node's name.
	TargetNode string
	// DestinationCIDR is the node's pod CIDR.
	DestinationCIDR string
	// Blackhole marks a route whose target is gone.
	Blackhole bool
}

// Routes manages the routes that carry pod traffic between nodes.
type Routes interface {
	ListRoutes(ctx context.Context, clusterName string) ([]Route, error)
	// CreateRoute makes route.DestinationCIDR reach route.TargetNode;
	// nameHint is unique and stable (the node's uid).
	CreateRoute(ctx context.Context, clusterName, nameHint string, route Route) error
	// DeleteRoute removes a route; one that does not exist is no error.
	DeleteRoute(ctx context.Context, clusterName string, route Route) error
}

// VolumeLabeler labels PersistentVolumes with where their storage lives
// (Kubernetes' PVLabeler): topology.kubernetes.io/zone and region.
type VolumeLabeler interface {
	// GetVolumeLabels returns the labels the volume should carry (none when
	// the provider knows nothing of it); node is the Node the volume's
	// required node affinity pins it to, nil when there is none.
	GetVolumeLabels(ctx context.Context, pv *corev1.PersistentVolume, node *corev1.Node) (map[string]string, error)
}

// ZoneReporter is implemented by providers whose InstanceMetadata fills
// Zone and Region.
type ZoneReporter interface {
	HasZones() bool
}

// Capabilities say which parts a provider implements.
type Capabilities struct {
	// Name is the provider's name, the scheme of its provider IDs.
	Name          string
	Instances     bool
	LoadBalancers bool
	Routes        bool
	Zones         bool
	VolumeLabels  bool
}

// Cloud is a provider as the cloud-controller uses it: its capabilities
// and the parts it implements (nil for the others).
type Cloud struct {
	Capabilities
	Instances    Instances
	LoadBalancer LoadBalancer
	Routes       Routes
	Volumes      VolumeLabeler
}

// FromImpl is the Cloud of an in-process provider: impl implements any
// of Instances, LoadBalancer, Routes, VolumeLabeler and ZoneReporter.
func FromImpl(name string, impl any) Cloud {
	c := Cloud{Capabilities: Capabilities{Name: name}}
	c.Instances, c.Capabilities.Instances = impl.(Instances)
	c.LoadBalancer, c.LoadBalancers = impl.(LoadBalancer)
	c.Routes, c.Capabilities.Routes = impl.(Routes)
	c.Volumes, c.VolumeLabels = impl.(VolumeLabeler)
	if z, ok := impl.(ZoneReporter); ok && c.Instances != nil {
		c.Zones = z.HasZones()
	}
	return c
}

// Handshake is what the cloud-controller and a provider plugin agree on
// before talking; a plugin run by hand (without the cookie) says so and
// exits.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "SKIFF_CLOUD_PROVIDER_PLUGIN",
	MagicCookieValue: "5b0e3f7c-9d21-4c8e-b6a4-2f81d0c7e953",
}

// Dispense is the name the provider is served under.
const Dispense = "cloudprovider"
