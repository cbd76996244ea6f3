package garbagecollector

import (
	"context"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/informers"
)

// kind is one resource seen untyped: what the collector needs of it.
type kind interface {
	name() string // "ReplicaSet"
	apiVersion() string
	list() []proto.Message
	get(key string) (proto.Message, bool)
	byIndex(index, value string) []proto.Message
	onChange(func(old, obj proto.Message, deleted bool))
	live(ctx context.Context, ns, name string) (proto.Message, error)
	update(ctx context.Context, obj proto.Message) error
	remove(ctx context.Context, ns, name string, policy string) error
}

// typed adapts an informer and its client resource to kind.
type typed[T, L proto.Message] struct {
	kindName, version string
	inf               *informer.Informer[T]
	res               func(ns string) *client.Resource[T, L]
}

func (k *typed[T, L]) name() string       { return k.kindName }
func (k *typed[T, L]) apiVersion() string { return k.version }

func erase[T proto.Message](in []T) []proto.Message {
	out := make([]proto.Message, len(in))
	for i, o := range in {
		out[i] = o
	}
	return out
}

func (k *typed[T, L]) list() []proto.Message { return erase(k.inf.Store().List()) }

func (k *typed[T, L]) get(key string) (proto.Message, bool) { return k.inf.Store().Get(key) }

func (k *typed[T, L]) byIndex(index, value string) []proto.Message {
	return erase(k.inf.Store().ByIndex(index, value))
}

func (k *typed[T, L]) onChange(f func(old, obj proto.Message, deleted bool)) {
	k.inf.AddHandler(informer.Handler[T]{
		OnAdd:    func(obj T) { f(nil, obj, false) },
		OnUpdate: func(old, obj T) { f(old, obj, false) },
		OnDelete: func(obj T) { f(nil, obj, true) },
	})
}

func (k *typed[T, L]) live(ctx context.Context, ns, name string) (proto.Message, error) {
	return k.res(ns).Get(ctx, name)
}

func (k *typed[T, L]) update(ctx context.Context, obj proto.Message) error {
	_, err := k.res(informer.Meta(obj).GetNamespace()).Update(ctx, obj.(T), client.WriteOptions{})
	return err
}

func (k *typed[T, L]) remove(ctx context.Context, ns, name, policy string) error {
	_, err := k.res(ns).Delete(ctx, name, &metav1.DeleteOptions{PropagationPolicy: &policy})
	return err
}

// kinds are the namespaced resources whose ownerReferences the collector
// follows.
func kinds(c *client.Client, f *informers.Factory) []kind {
	return []kind{
		&typed[*corev1.Pod, *corev1.PodList]{"Pod", "v1", f.Pods(),
			func(ns string) *client.Resource[*corev1.Pod, *corev1.PodList] { return c.CoreV1().Pods(ns).Resource }},
		&typed[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]{"ReplicaSet", "apps/v1", f.ReplicaSets(),
			func(ns string) *client.Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
				return c.AppsV1().ReplicaSets(ns).Resource
			}},
		&typed[*appsv1.Deployment, *appsv1.DeploymentList]{"Deployment", "apps/v1", f.Deployments(),
			func(ns string) *client.Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
				return c.AppsV1().Deployments(ns).Resource
			}},
		&typed[*corev1.ConfigMap, *corev1.ConfigMapList]{"ConfigMap", "v1", f.ConfigMaps(), c.CoreV1().ConfigMaps},
		&typed[*corev1.Secret, *corev1.SecretList]{"Secret", "v1", f.Secrets(), c.CoreV1().Secrets},
		&typed[*corev1.Service, *corev1.ServiceList]{"Service", "v1", f.Services(), c.CoreV1().Services},
		&typed[*corev1.Endpoints, *corev1.EndpointsList]{"Endpoints", "v1", f.Endpoints(), c.CoreV1().Endpoints},
		&typed[*corev1.ServiceAccount, *corev1.ServiceAccountList]{"ServiceAccount", "v1", f.ServiceAccounts(),
			func(ns string) *client.Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
				return c.CoreV1().ServiceAccounts(ns).Resource
			}},
		&typed[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList]{"EndpointSlice", "discovery.k8s.io/v1", f.EndpointSlices(), c.DiscoveryV1().EndpointSlices},
	}
}
