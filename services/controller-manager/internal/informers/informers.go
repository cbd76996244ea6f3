// Package informers shares one informer per resource among the
// controllers: a controller asks for the informers it needs while it is
// built, and the manager starts them all and waits for their caches.
package informers

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// Factory hands out shared informers.
type Factory struct {
	c *client.Client

	mu      sync.Mutex
	started bool
	all     []runnable

	pods            *informer.Informer[*corev1.Pod]
	nodes           *informer.Informer[*corev1.Node]
	namespaces      *informer.Informer[*corev1.Namespace]
	serviceAccounts *informer.Informer[*corev1.ServiceAccount]
	configMaps      *informer.Informer[*corev1.ConfigMap]
	secrets         *informer.Informer[*corev1.Secret]
	services        *informer.Informer[*corev1.Service]
	endpoints       *informer.Informer[*corev1.Endpoints]
	nodeLeases      *informer.Informer[*coordinationv1.Lease]
	endpointSlices  *informer.Informer[*discoveryv1.EndpointSlice]
	replicaSets     *informer.Informer[*appsv1.ReplicaSet]
	deployments     *informer.Informer[*appsv1.Deployment]
	serviceCIDRs    *informer.Informer[*networkingv1.ServiceCIDR]
	ipAddresses     *informer.Informer[*networkingv1.IPAddress]
}

type runnable interface {
	Start(ctx context.Context) error
	WaitForSync(ctx context.Context) bool
}

// New makes a factory over a client.
func New(c *client.Client) *Factory { return &Factory{c: c} }

func shared[T proto.Message](f *Factory, slot **informer.Informer[T], src informer.Source[T], indexers map[string]informer.IndexFunc[T]) *informer.Informer[T] {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *slot == nil {
		if f.started {
			panic("informers: asked for a new informer after Start")
		}
		*slot = informer.New(src, informer.Options[T]{Indexers: indexers})
		f.all = append(f.all, *slot)
	}
	return *slot
}

// byNamespaceAndOwner are the indexes every informer keeps: namespace,
// controlling owner, every owner and uid (the garbage collector's graph).
func byNamespaceAndOwner[T proto.Message]() map[string]informer.IndexFunc[T] {
	return map[string]informer.IndexFunc[T]{
		informer.IndexNamespace: informer.NamespaceIndex[T],
		informer.IndexOwner:     informer.OwnerIndex[T],
		informer.IndexOwners:    informer.OwnersIndex[T],
		informer.IndexUID:       informer.UIDIndex[T],
	}
}

// Pods indexed by namespace, owner and node.
func (f *Factory) Pods() *informer.Informer[*corev1.Pod] {
	idx := byNamespaceAndOwner[*corev1.Pod]()
	idx[informer.IndexNodeName] = informer.NodeNameIndex
	return shared(f, &f.pods, informer.FromResource(f.c.CoreV1().Pods("").Resource), idx)
}

// Nodes.
func (f *Factory) Nodes() *informer.Informer[*corev1.Node] {
	return shared(f, &f.nodes, informer.FromResource(f.c.CoreV1().Nodes()), byNamespaceAndOwner[*corev1.Node]())
}

// ServiceCIDRs, the ranges of cluster IPs.
func (f *Factory) ServiceCIDRs() *informer.Informer[*networkingv1.ServiceCIDR] {
	return shared(f, &f.serviceCIDRs, informer.FromResource(f.c.NetworkingV1().ServiceCIDRs()), byNamespaceAndOwner[*networkingv1.ServiceCIDR]())
}

// IPAddresses, one per allocated cluster IP.
func (f *Factory) IPAddresses() *informer.Informer[*networkingv1.IPAddress] {
	return shared(f, &f.ipAddresses, informer.FromResource(f.c.NetworkingV1().IPAddresses()), byNamespaceAndOwner[*networkingv1.IPAddress]())
}

// Namespaces.
func (f *Factory) Namespaces() *informer.Informer[*corev1.Namespace] {
	return shared(f, &f.namespaces, informer.FromResource(f.c.CoreV1().Namespaces().Resource), byNamespaceAndOwner[*corev1.Namespace]())
}

// ServiceAccounts indexed by namespace.
func (f *Factory) ServiceAccounts() *informer.Informer[*corev1.ServiceAccount] {
	return shared(f, &f.serviceAccounts, informer.FromResource(f.c.CoreV1().ServiceAccounts("").Resource), byNamespaceAndOwner[*corev1.ServiceAccount]())
}

// NodeLeases are the kubelets' heartbeats in kube-node-lease.
func (f *Factory) NodeLeases() *informer.Informer[*coordinationv1.Lease] {
	return shared(f, &f.nodeLeases, informer.FromResource(f.c.CoordinationV1().Leases("kube-node-lease")), byNamespaceAndOwner[*coordinationv1.Lease]())
}

// EndpointSlices.
func (f *Factory) EndpointSlices() *informer.Informer[*discoveryv1.EndpointSlice] {
	return shared(f, &f.endpointSlices, informer.FromResource(f.c.DiscoveryV1().EndpointSlices("")), byNamespaceAndOwner[*discoveryv1.EndpointSlice]())
}

// ConfigMaps.
func (f *Factory) ConfigMaps() *informer.Informer[*corev1.ConfigMap] {
	return shared(f, &f.configMaps, informer.FromResource(f.c.CoreV1().ConfigMaps("")), byNamespaceAndOwner[*corev1.ConfigMap]())
}

// Secrets.
func (f *Factory) Secrets() *informer.Informer[*corev1.Secret] {
	return shared(f, &f.secrets, informer.FromResource(f.c.CoreV1().Secrets("")), byNamespaceAndOwner[*corev1.Secret]())
}

// Services.
func (f *Factory) Services() *informer.Informer[*corev1.Service] {
	return shared(f, &f.services, informer.FromResource(f.c.CoreV1().Services("")), byNamespaceAndOwner[*corev1.Service]())
}

// Endpoints.
func (f *Factory) Endpoints() *informer.Informer[*corev1.Endpoints] {
	return shared(f, &f.endpoints, informer.FromResource(f.c.CoreV1().Endpoints("")), byNamespaceAndOwner[*corev1.Endpoints]())
}

// ReplicaSets indexed by namespace and owner.
func (f *Factory) ReplicaSets() *informer.Informer[*appsv1.ReplicaSet] {
	return shared(f, &f.replicaSets, informer.FromResource(f.c.AppsV1().ReplicaSets("").Resource), byNamespaceAndOwner[*appsv1.ReplicaSet]())
}

// Deployments indexed by namespace.
func (f *Factory) Deployments() *informer.Informer[*appsv1.Deployment] {
	return shared(f, &f.deployments, informer.FromResource(f.c.AppsV1().Deployments("").Resource), byNamespaceAndOwner[*appsv1.Deployment]())
}

// Start runs every informer handed out until ctx ends.
func (f *Factory) Start(ctx context.Context) error {
	f.mu.Lock()
	f.started = true
	all := f.all
	f.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	for _, i := range all {
		g.Go(func() error { return i.Start(gctx) })
	}
	return g.Wait()
}

// WaitForSync waits until every informer has listed once.
func (f *Factory) WaitForSync(ctx context.Context) bool {
	f.mu.Lock()
	all := f.all
	f.mu.Unlock()
	for _, i := range all {
		if !i.WaitForSync(ctx) {
			return false
		}
	}
	return true
}
