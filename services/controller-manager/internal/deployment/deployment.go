// Package deployment rolls Deployments out through ReplicaSets, as
// Kubernetes does: one ReplicaSet per pod template (named by the
// template's hash), rolling updates within maxSurge and maxUnavailable or
// Recreate, revisions that kubectl rollout history and undo read, pause,
// a progress deadline, and the status kubectl rollout status waits on.
package deployment

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/labels"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
	"skiff.dev/services/controller-manager/internal/replicaset"
)

// Name is the controller's name in --controllers.
const Name = "deployment"

// Controller is the Deployment controller.
type Controller struct {
	*controller.Controller
	c     *client.Client
	ds    *informer.Informer[*appsv1.Deployment]
	rss   *informer.Informer[*appsv1.ReplicaSet]
	pods  *informer.Informer[*corev1.Pod]
	clock func() time.Time
	// Events records how it scales ReplicaSets (nil records nothing).
	Events *events.Recorder
}

var tracer = otel.Tracer("skiff.dev/services/controller-manager/deployment")

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	dc := &Controller{c: c, ds: f.Deployments(), rss: f.ReplicaSets(), pods: f.Pods(), clock: time.Now}
	dc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(dc.reconcile),
		Keys: func() []string {
			var out []string
			for _, d := range dc.ds.Store().List() {
				out = append(out, informer.KeyOf(d))
			}
			return out
		}}
	enqueue := func(d *appsv1.Deployment) { dc.Enqueue(informer.KeyOf(d)) }
	dc.ds.AddHandler(informer.Handler[*appsv1.Deployment]{OnAdd: enqueue, OnUpdate: func(_, d *appsv1.Deployment) { enqueue(d) }, OnDelete: enqueue})
	onRS := func(rs *appsv1.ReplicaSet) { dc.enqueueOwner(rs) }
	dc.rss.AddHandler(informer.Handler[*appsv1.ReplicaSet]{OnAdd: onRS, OnUpdate: func(old, rs *appsv1.ReplicaSet) {
		dc.enqueueOwner(old)
		dc.enqueueOwner(rs)
	}, OnDelete: onRS})
	// Recreate waits for the old pods to be gone.
	dc.pods.AddHandler(informer.Handler[*corev1.Pod]{OnDelete: func(p *corev1.Pod) {
		ref := replicaset.ControllerOf(p.GetMetadata())
		if ref == nil || ref.GetKind() != "ReplicaSet" {
			return
		}
		if rs, ok := dc.rss.Store().Get(p.GetMetadata().GetNamespace() + "/" + ref.GetName()); ok {
			dc.enqueueOwner(rs)
		}
	}})
	return dc
}

// enqueueOwner queues the Deployment that controls a ReplicaSet, or for an
// orphan every Deployment that could adopt it.
func (dc *Controller) enqueueOwner(rs *appsv1.ReplicaSet) {
	ns := rs.GetMetadata().GetNamespace()
	if ref := replicaset.ControllerOf(rs.GetMetadata()); ref != nil {
		if ref.GetKind() == "Deployment" {
			dc.Enqueue(ns + "/" + ref.GetName())
		}
		return
	}
	for _, d := range dc.ds.Store().ByIndex(informer.IndexNamespace, ns) {
		if labels.Matches(d.GetSpec().GetSelector(), rs.GetMetadata().GetLabels()) {
			dc.Enqueue(informer.KeyOf(d))
		}
	}
}

// reconcile brings one Deployment to its desired state.
func (dc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	d, ok := dc.ds.Store().Get(key)
	if !ok {
		return 0, nil
	}
	ctx = telemetry.ContextFromAnnotations(ctx, d.GetMetadata().GetAnnotations())
	ctx, span := tracer.Start(ctx, "reconcile deployment", trace.WithAttributes(attribute.String("deployment", key)))
	defer span.End()
	d = proto.Clone(d).(*appsv1.Deployment)
	if d.GetMetadata().GetDeletionTimestamp() != nil {
		return 0, nil // the garbage collector takes its replica sets
	}
	rss, err := dc.claim(ctx, d)
	if err != nil {
		return 0, err
	}
	r := &rollout{dc: dc, d: d, now: dc.clock()}
	r.split(rss)
	switch {
	case d.GetSpec().GetPaused():
		// A paused rollout does not move, but follows changes of the replicas.
		if err := r.scaleToReplicas(ctx); err != nil {
			return 0, err
		}
	case r.isScalingEvent():
		// The replicas changed: spread the change before rolling on.
		if r.newRS != nil {
			if err := r.ensureNewRS(ctx); err != nil {
				return 0, err
			}
		}
		if err := r.scaleToReplicas(ctx); err != nil {
			return 0, err
		}
	default:
		if err := r.ensureNewRS(ctx); err != nil {
			return 0, err
		}
		if err := r.rollOut(ctx); err != nil {
			return 0, err
		}
	}
	if err := r.cleanup(ctx); err != nil {
		return 0, err
	}
	return r.writeStatus(ctx)
}

// claim returns the ReplicaSets the Deployment controls, adopting
// matching orphans and releasing those that stop matching.
func (dc *Controller) claim(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	uid := d.GetMetadata().GetUid()
	var out []*appsv1.ReplicaSet
	for _, rs := range dc.rss.Store().ByIndex(informer.IndexNamespace, d.GetMetadata().GetNamespace()) {
		ref := replicaset.ControllerOf(rs.GetMetadata())
		matches := labels.Matches(d.GetSpec().GetSelector(), rs.GetMetadata().GetLabels())
		switch {
		case ref != nil && ref.GetUid() == uid && matches:
			out = append(out, rs)
		case ref != nil && ref.GetUid() == uid:
			updated := proto.Clone(rs).(*appsv1.ReplicaSet)
			updated.Metadata.OwnerReferences = slices.DeleteFunc(updated.Metadata.OwnerReferences,
				func(r *metav1.OwnerReference) bool { return r.GetUid() == uid })
			if _, err := dc.c.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace()).Update(ctx, updated, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
				return nil, fmt.Errorf("release replicaset %s: %w", informer.KeyOf(rs), err)
			}
		case ref == nil && matches && rs.GetMetadata().GetDeletionTimestamp() == nil:
			updated := proto.Clone(rs).(*appsv1.ReplicaSet)
			updated.Metadata.OwnerReferences = append(updated.Metadata.OwnerReferences, ownerReference(d))
			adopted, err := dc.c.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace()).Update(ctx, updated, client.WriteOptions{})
			if err != nil {
				if client.IsNotFound(err) {
					continue
				}
				return nil, fmt.Errorf("adopt replicaset %s: %w", informer.KeyOf(rs), err)
			}
			out = append(out, adopted)
		}
	}
	return out, nil
}
