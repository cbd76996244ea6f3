// Package namespace empties deleted namespaces: while a namespace is
// Terminating it deletes every namespaced object in it, of every kind
// discovery lists, and once nothing is left it removes the namespace's
// kubernetes finalizer, which lets the apiserver remove the namespace.
package namespace

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
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

// first are the resources emptied before the others, as Kubernetes'
// namespace controller orders them: workloads, so their controllers stop
// making pods, then pods.
var first = []string{"apps/v1/deployments", "apps/v1/replicasets", "v1/pods"}

// Controller is the namespace controller; its keys are namespace names.
type Controller struct {
	*controller.Controller
	c   *client.Client
	nss *informer.Informer[*corev1.Namespace]
}

// New wires the controller to the namespace informer. What it empties is
// every namespaced resource discovery lists at the time, built-in or
// custom.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	nc := &Controller{c: c, nss: f.Namespaces()}
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

// contents are the namespaced resources whose objects are deleted with a
// namespace: those that can be listed and deleted, one version of each
// group and resource, the workloads first.
func (nc *Controller) contents(ctx context.Context) ([]client.ServedResource, error) {
	served, err := nc.c.ServedResources(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover the namespaced resources: %w", err)
	}
	var out []client.ServedResource
	seen := map[string]bool{}
	for _, r := range served {
		gr := r.Group + "/" + r.Resource
		if !r.Namespaced || !r.Has("list") || !r.Has("delete") || seen[gr] {
			continue
		}
		seen[gr] = true
		out = append(out, r)
	}
	rank := func(r client.ServedResource) int {
		if i := slices.Index(first, r.String()); i >= 0 {
			return i
		}
		return len(first)
	}
	slices.SortStableFunc(out, func(a, b client.ServedResource) int { return rank(a) - rank(b) })
	return out, nil
}

// purge deletes a resource's objects in a namespace and says how many
// are left (being deleted, or just asked to be). It lists in pages, as a
// namespace may hold more than one answer can carry.
func (nc *Controller) purge(ctx context.Context, r client.ServedResource, ns string) (int, error) {
	md := nc.c.Metadata(r.GroupVersionResource, ns)
	left := 0
	opts := client.ListOptions{Limit: client.ListPageSize}
	for {
		list, err := md.List(ctx, opts)
		if err != nil {
			return 0, err
		}
		for _, obj := range list.GetItems() {
			if err := purgeOne(ctx, md, obj.GetMetadata()); err != nil {
				return 0, err
			}
		}
		left += len(list.GetItems())
		if opts.Continue = list.GetMetadata().GetContinue(); opts.Continue == "" {
			return left, nil
		}
	}
}

// purgeOne deletes an object not yet being deleted.
func purgeOne(ctx context.Context, md *client.Resource[*metav1.PartialObjectMetadata, *metav1.PartialObjectMetadataList], m *metav1.ObjectMeta) error {
	if m.GetDeletionTimestamp() != nil {
		return nil
	}
	// In the background, as Kubernetes' namespace controller deletes: a
	// kind that orphans by default (ReplicationControllers) would
	// otherwise wait for the garbage collector.
	background := &metav1.DeleteOptions{PropagationPolicy: proto.String("Background")}
	if _, err := md.Delete(ctx, m.GetName(), background); err != nil && !client.IsNotFound(err) {
		return err
	}
	return nil
}

func terminating(ns *corev1.Namespace) bool {
	return ns.GetMetadata().GetDeletionTimestamp() != nil || ns.GetStatus().GetPhase() == "Terminating"
}

func (nc *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	ns, ok := nc.nss.Store().Get(name)
	if !ok || !terminating(ns) || !slices.Contains(ns.GetSpec().GetFinalizers(), FinalizerKubernetes) {
		return 0, nil
	}
	contents, err := nc.contents(ctx)
	if err != nil {
		return 0, err
	}
	left := 0
	for _, r := range contents {
		n, err := nc.purge(ctx, r, name)
		if err != nil {
			return 0, fmt.Errorf("empty %s of namespace %s: %w", r.String(), name, err)
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
