// Package informers shares one informer per resource among the
// controllers: a controller asks for the informers it needs while it is
// built, and the manager starts them all and waits for their caches.
package informers

import (
	"context"
	"maps"
	"sync"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

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
	byKey   map[string]runnable // by kind and namespace
}

type runnable interface {
	Start(ctx context.Context) error
	WaitForSync(ctx context.Context) bool
	Ready() error
}

// New makes a factory over a client.
func New(c *client.Client) *Factory { return &Factory{c: c, byKey: map[string]runnable{}} }

// For is the shared informer of the kind whose object is T and list L, in
// every namespace: any served kind, with no code of its own here.
func For[T, L proto.Message](f *Factory) *informer.Informer[T] {
	return inNamespace[T, L](f, "")
}

// inNamespace is the shared informer of a kind in one namespace ("" for
// all), indexed by namespace, owners and uid, and by what extraIndexers
// adds for the kind.
func inNamespace[T, L proto.Message](f *Factory, namespace string) *informer.Informer[T] {
	var zero T
	kind := zero.ProtoReflect().Descriptor().FullName()
	key := string(kind) + "/" + namespace
	f.mu.Lock()
	defer f.mu.Unlock()
	if inf, ok := f.byKey[key]; ok {
		return inf.(*informer.Informer[T])
	}
	if f.started {
		panic("informers: asked for a new informer after Start")
	}
	idx := byNamespaceAndOwner[T]()
	if extra, ok := extraIndexers[kind].(map[string]informer.IndexFunc[T]); ok {
		maps.Copy(idx, extra)
	}
	inf := informer.New(informer.FromResource(client.For[T, L](f.c, namespace)), informer.Options[T]{Indexers: idx})
	f.byKey[key] = inf
	f.all = append(f.all, inf)
	return inf
}

// IndexPodClaim indexes pods by the claims their volumes name
// ("<namespace>/<claim>"), as Kubernetes' PodPVCIndex does.
const IndexPodClaim = "pod-pvc"

// extraIndexers are the indexes some kinds keep besides the common ones,
// by the full name of the kind's message: pods by node and by claim.
var extraIndexers = map[protoreflect.FullName]any{
	"skiff.core.v1.Pod": map[string]informer.IndexFunc[*corev1.Pod]{informer.IndexNodeName: informer.NodeNameIndex,
		IndexPodClaim: PodClaimKeys},
}

// PodClaimKeys are the "<namespace>/<claim>" keys of the claims a pod's
// volumes name, the values of IndexPodClaim.
func PodClaimKeys(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.GetSpec().GetVolumes() {
		if c := v.GetVolumeSource().GetPersistentVolumeClaim(); c != nil {
			out = append(out, pod.GetMetadata().GetNamespace()+"/"+c.GetClaimName())
		}
	}
	return out
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
func (f *Factory) Pods() *informer.Informer[*corev1.Pod] { return For[*corev1.Pod, *corev1.PodList](f) }

// Nodes.
func (f *Factory) Nodes() *informer.Informer[*corev1.Node] {
	return For[*corev1.Node, *corev1.NodeList](f)
}

// ServiceCIDRs, the ranges of cluster IPs.
func (f *Factory) ServiceCIDRs() *informer.Informer[*networkingv1.ServiceCIDR] {
	return For[*networkingv1.ServiceCIDR, *networkingv1.ServiceCIDRList](f)
}

// IPAddresses, one per allocated cluster IP.
func (f *Factory) IPAddresses() *informer.Informer[*networkingv1.IPAddress] {
	return For[*networkingv1.IPAddress, *networkingv1.IPAddressList](f)
}

// Namespaces.
func (f *Factory) Namespaces() *informer.Informer[*corev1.Namespace] {
	return For[*corev1.Namespace, *corev1.NamespaceList](f)
}

// ServiceAccounts.
func (f *Factory) ServiceAccounts() *informer.Informer[*corev1.ServiceAccount] {
	return For[*corev1.ServiceAccount, *corev1.ServiceAccountList](f)
}

// NodeLeases are the kubelets' heartbeats in kube-node-lease.
func (f *Factory) NodeLeases() *informer.Informer[*coordinationv1.Lease] {
	return inNamespace[*coordinationv1.Lease, *coordinationv1.LeaseList](f, "kube-node-lease")
}

// EndpointSlices.
func (f *Factory) EndpointSlices() *informer.Informer[*discoveryv1.EndpointSlice] {
	return For[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList](f)
}

// ConfigMaps.
func (f *Factory) ConfigMaps() *informer.Informer[*corev1.ConfigMap] {
	return For[*corev1.ConfigMap, *corev1.ConfigMapList](f)
}

// Secrets.
func (f *Factory) Secrets() *informer.Informer[*corev1.Secret] {
	return For[*corev1.Secret, *corev1.SecretList](f)
}

// Services.
func (f *Factory) Services() *informer.Informer[*corev1.Service] {
	return For[*corev1.Service, *corev1.ServiceList](f)
}

// Endpoints.
func (f *Factory) Endpoints() *informer.Informer[*corev1.Endpoints] {
	return For[*corev1.Endpoints, *corev1.EndpointsList](f)
}

// ReplicaSets.
func (f *Factory) ReplicaSets() *informer.Informer[*appsv1.ReplicaSet] {
	return For[*appsv1.ReplicaSet, *appsv1.ReplicaSetList](f)
}

// Deployments.
func (f *Factory) Deployments() *informer.Informer[*appsv1.Deployment] {
	return For[*appsv1.Deployment, *appsv1.DeploymentList](f)
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

// Ready is nil when every informer has listed and lists work; else the
// first informer's error that says why not.
func (f *Factory) Ready() error {
	f.mu.Lock()
	all := f.all
	f.mu.Unlock()
	for _, i := range all {
		if err := i.Ready(); err != nil {
			return err
		}
	}
	return nil
}
