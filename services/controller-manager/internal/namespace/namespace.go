// Package namespace empties deleted namespaces: while a namespace is
// Terminating it deletes every namespaced object in it, and once nothing
// is left it removes the namespace's kubernetes finalizer, which lets the
// apiserver remove the namespace.
package namespace

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "namespace"

// FinalizerKubernetes holds a namespace until it is empty.
const FinalizerKubernetes = "kubernetes"

// recheck is how soon a namespace whose content is still going away
// (pods terminating gracefully) is looked at again.
const recheck = time.Second

// content deletes one namespaced resource's objects in a namespace and
// says how many are left.
type content struct {
	resource string
	purge    func(ctx context.Context, ns string) (left int, err error)
}

func of[T, L proto.Message](resource string, res func(ns string) *client.Resource[T, L]) content {
	return content{resource: resource, purge: func(ctx context.Context, ns string) (int, error) {
		items, _, err := informer.FromResource(res(ns)).List(ctx, client.ListOptions{})
		if err != nil {
			return 0, err
		}
		for _, obj := range items {
			m := informer.Meta(obj)
			if m.GetDeletionTimestamp() != nil {
				continue
			}
			if _, err := res(ns).Delete(ctx, m.GetName(), nil); err != nil && !client.IsNotFound(err) {
				return 0, err
			}
		}
		return len(items), nil
	}}
}

// Controller is the namespace controller; its keys are namespace names.
type Controller struct {
	*controller.Controller
	c       *client.Client
	nss     *informer.Informer[*corev1.Namespace]
	content []content
}

// New wires the controller to the namespace informer. Every namespaced
// resource the apiserver serves is emptied; keep the list in step with
// the apiserver's kinds.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	nc := &Controller{c: c, nss: f.Namespaces(), content: []content{
		// Workloads first, so their controllers stop making pods.
		of("deployments", func(ns string) *client.Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
			return c.AppsV1().Deployments(ns).Resource
		}),
		of("replicasets", func(ns string) *client.Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
			return c.AppsV1().ReplicaSets(ns).Resource
		}),
		of("pods", func(ns string) *client.Resource[*corev1.Pod, *corev1.PodList] { return c.CoreV1().Pods(ns).Resource }),
		of("services", c.CoreV1().Services),
		of("endpoints", c.CoreV1().Endpoints),
		of("endpointslices", c.DiscoveryV1().EndpointSlices),
		of("podtemplates", c.CoreV1().PodTemplates),
		of("configmaps", c.CoreV1().ConfigMaps),
		of("secrets", c.CoreV1().Secrets),
		of("serviceaccounts", func(ns string) *client.Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
			return c.CoreV1().ServiceAccounts(ns).Resource
		}),
		of("events", c.CoreV1().Events),
		of("leases", c.CoordinationV1().Leases),
	}}
	nc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(nc.reconcile),
		Keys: func() []string {
			var out []string
			for _, ns := range nc.nss.Store().List() {
				if terminating(ns) {
					out = append(out, ns.GetMetadata().GetName())
				}
			}
			return out
		}}
	onNS := func(ns *corev1.Namespace) {
		if terminating(ns) {
			nc.Enqueue(ns.GetMetadata().GetName())
		}
	}
	nc.nss.AddHandler(informer.Handler[*corev1.Namespace]{OnAdd: onNS, OnUpdate: func(_, ns *corev1.Namespace) { onNS(ns) }})
	return nc
}

func terminating(ns *corev1.Namespace) bool {
	return ns.GetMetadata().GetDeletionTimestamp() != nil || ns.GetStatus().GetPhase() == "Terminating"
}

func (nc *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	ns, ok := nc.nss.Store().Get(name)
	if !ok || !terminating(ns) || !slices.Contains(ns.GetSpec().GetFinalizers(), FinalizerKubernetes) {
		return 0, nil
	}
	left := 0
	for _, c := range nc.content {
		n, err := c.purge(ctx, name)
		if err != nil {
			return 0, fmt.Errorf("empty %s of namespace %s: %w", c.resource, name, err)
		}
		left += n
	}
	if left > 0 {
		return recheck, nil
	}
	final := proto.Clone(ns).(*corev1.Namespace)
	final.Spec.Finalizers = slices.DeleteFunc(final.Spec.Finalizers, func(f string) bool { return f == FinalizerKubernetes })
	if _, err := nc.c.CoreV1().Namespaces().Finalize(ctx, final, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	return 0, nil
}
