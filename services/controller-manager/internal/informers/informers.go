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
	corev1 "skiff.dev/api/core/v1"
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
	replicaSets     *informer.Informer[*appsv1.ReplicaSet]
	deployments     *informer.Informer[*appsv1.Deployment]
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

func byNamespaceAndOwner[T proto.Message]() map[string]informer.IndexFunc[T] {
	return map[string]informer.IndexFunc[T]{
		informer.IndexNamespace: informer.NamespaceIndex[T],
		informer.IndexOwner:     informer.OwnerIndex[T],
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
	return shared(f, &f.nodes, informer.FromResource(f.c.CoreV1().Nodes()), nil)
}

// Namespaces.
func (f *Factory) Namespaces() *informer.Informer[*corev1.Namespace] {
	return shared(f, &f.namespaces, informer.FromResource(f.c.CoreV1().Namespaces().Resource), nil)
}

// ServiceAccounts indexed by namespace.
func (f *Factory) ServiceAccounts() *informer.Informer[*corev1.ServiceAccount] {
	return shared(f, &f.serviceAccounts, informer.FromResource(f.c.CoreV1().ServiceAccounts("")), byNamespaceAndOwner[*corev1.ServiceAccount]())
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
