// Package daemonset runs one pod of each DaemonSet on every node that it
// selects and whose taints it tolerates: it creates the pods pinned to
// their node by required node affinity (the scheduler binds them), deletes
// pods on nodes that no longer qualify, replaces failed pods with a
// back-off, rolls template changes out under maxUnavailable and maxSurge
// (or leaves them to pod deletions with OnDelete), records each template
// as a ControllerRevision, and reports the DaemonSet's status.
package daemonset

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/labels"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/history"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "daemonset"

// BurstReplicas bounds the pods one reconcile creates or deletes.
const BurstReplicas = 250

// Controller is the DaemonSet controller.
type Controller struct {
	*controller.Controller
	c       *client.Client
	dss     *informer.Informer[*appsv1.DaemonSet]
	pods    *informer.Informer[*corev1.Pod]
	nodes   *informer.Informer[*corev1.Node]
	history *history.History
	exp     *controller.Expectations
	backoff *backoff
	// patchPod patches a pod by strategic merge.
	patchPod func(context.Context, *corev1.Pod, []byte) (*corev1.Pod, error)
	// Events records the pods it creates and deletes (nil records nothing).
	Events *events.Recorder
}

var tracer = otel.Tracer("skiff.dev/services/controller-manager/daemonset")

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	dc := &Controller{c: c, dss: informers.For[*appsv1.DaemonSet, *appsv1.DaemonSetList](f), pods: f.Pods(), nodes: f.Nodes(),
		history: history.NewHistory(c, f), exp: controller.NewExpectations(), backoff: newBackoff(time.Second, 15*time.Minute),
		patchPod: controller.PodPatcher(c)}
	dc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(dc.reconcile),
		Keys: func() []string { return keys(dc.dss.Store().List()) }}
	dc.dss.AddHandler(informer.Handler[*appsv1.DaemonSet]{
		OnAdd:    func(ds *appsv1.DaemonSet) { dc.Enqueue(informer.KeyOf(ds)) },
		OnUpdate: func(_, ds *appsv1.DaemonSet) { dc.Enqueue(informer.KeyOf(ds)) },
		OnDelete: func(ds *appsv1.DaemonSet) { dc.exp.Forget(informer.KeyOf(ds)); dc.Enqueue(informer.KeyOf(ds)) },
	})
	dc.history.Informer().AddHandler(informer.Handler[*appsv1.ControllerRevision]{
		OnAdd:    dc.revisionChanged,
		OnUpdate: func(_, r *appsv1.ControllerRevision) { dc.revisionChanged(r) },
		OnDelete: dc.revisionChanged,
	})
	dc.pods.AddHandler(informer.Handler[*corev1.Pod]{OnAdd: dc.podAdded, OnUpdate: dc.podUpdated, OnDelete: dc.podDeleted})
	dc.nodes.AddHandler(informer.Handler[*corev1.Node]{
		OnAdd: func(*corev1.Node) { dc.enqueueAll() },
		OnUpdate: func(old, n *corev1.Node) {
			if nodeChanged(old, n) {
				dc.enqueueAll()
			}
		},
		OnDelete: func(*corev1.Node) { dc.enqueueAll() },
	})
	return dc
}

func keys(dss []*appsv1.DaemonSet) []string {
	out := make([]string, len(dss))
	for i, ds := range dss {
		out[i] = informer.KeyOf(ds)
	}
	return out
}

func (dc *Controller) enqueueAll() {
	for _, ds := range dc.dss.Store().List() {
		dc.Enqueue(informer.KeyOf(ds))
	}
}

// nodeChanged: what decides where daemons run changed (labels, taints,
// unschedulable), not just a heartbeat.
func nodeChanged(old, n *corev1.Node) bool {
	return !maps.Equal(old.GetMetadata().GetLabels(), n.GetMetadata().GetLabels()) ||
		!slices.EqualFunc(old.GetSpec().GetTaints(), n.GetSpec().GetTaints(), func(a, b *corev1.Taint) bool {
			return a.GetKey() == b.GetKey() && a.GetValue() == b.GetValue() && a.GetEffect() == b.GetEffect()
		}) || old.GetSpec().GetUnschedulable() != n.GetSpec().GetUnschedulable()
}

// owner is the key of the DaemonSet controlling an object, if it is one
// we know.
func (dc *Controller) owner(obj proto.Message) (string, bool) {
	meta := informer.Meta(obj)
	ref := controller.ControllerOf(meta)
	if ref == nil || ref.GetKind() != "DaemonSet" {
		return "", false
	}
	key := meta.GetNamespace() + "/" + ref.GetName()
	ds, ok := dc.dss.Store().Get(key)
	if !ok || ds.GetMetadata().GetUid() != ref.GetUid() {
		return "", false
	}
	return key, true
}

func (dc *Controller) revisionChanged(r *appsv1.ControllerRevision) {
	if key, ok := dc.owner(r); ok {
		dc.Enqueue(key)
	}
}

// enqueueMatching queues every DaemonSet that could adopt an orphan.
func (dc *Controller) enqueueMatching(pod *corev1.Pod) {
	for _, ds := range dc.dss.Store().ByIndex(informer.IndexNamespace, pod.GetMetadata().GetNamespace()) {
		if labels.Matches(ds.GetSpec().GetSelector(), pod.GetMetadata().GetLabels()) {
			dc.Enqueue(informer.KeyOf(ds))
		}
	}
}

func (dc *Controller) podAdded(pod *corev1.Pod) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		dc.podDeleted(pod)
		return
	}
	if key, ok := dc.owner(pod); ok {
		dc.exp.CreationObserved(key)
		dc.Enqueue(key)
		return
	}
	if controller.ControllerOf(pod.GetMetadata()) == nil {
		dc.enqueueMatching(pod)
	}
}

func (dc *Controller) podUpdated(old, pod *corev1.Pod) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil && old.GetMetadata().GetDeletionTimestamp() == nil {
		dc.podDeleted(pod) // a pod being deleted is as good as gone to the expectations
		return
	}
	if oldKey, ok := dc.owner(old); ok {
		dc.Enqueue(oldKey)
	}
	if key, ok := dc.owner(pod); ok {
		dc.Enqueue(key)
		return
	}
	if controller.ControllerOf(pod.GetMetadata()) == nil {
		dc.enqueueMatching(pod)
	}
}

func (dc *Controller) podDeleted(pod *corev1.Pod) {
	if key, ok := dc.owner(pod); ok {
		dc.exp.DeletionObserved(key, informer.KeyOf(pod))
		dc.Enqueue(key)
	}
}

// reconcile brings one DaemonSet to its desired state.
func (dc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	ds, ok := dc.dss.Store().Get(key)
	if !ok {
		dc.exp.Forget(key)
		return 0, nil // its pods and revisions are the garbage collector's
	}
	ctx = telemetry.ContextFromAnnotations(ctx, ds.GetMetadata().GetAnnotations())
	ctx, span := tracer.Start(ctx, "reconcile daemonset", trace.WithAttributes(attribute.String("daemonset", key)))
	defer span.End()
	if len(ds.GetSpec().GetSelector().GetMatchLabels())+len(ds.GetSpec().GetSelector().GetMatchExpressions()) == 0 {
		dc.Events.Eventf(ds, events.Warning, "SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.")
		return 0, nil
	}
	byNode, err := dc.podsByNode(ctx, ds)
	if err != nil {
		return 0, err
	}
	nodes := dc.nodes.Store().List()
	if ds.GetMetadata().GetDeletionTimestamp() != nil || !dc.exp.Satisfied(key) {
		// Only the status, until the caches show our last writes.
		return dc.updateStatus(ctx, ds, nodes, byNode, currentHash(ds), collisionCount(ds))
	}
	cur, old, collisions, err := dc.constructHistory(ctx, ds)
	if err != nil {
		return 0, fmt.Errorf("construct history of daemonset %s: %w", key, err)
	}
	hash := cur.GetMetadata().GetLabels()[RevisionHashLabel]
	after, err := dc.manage(ctx, key, ds, nodes, byNode, hash)
	if err != nil {
		return 0, err
	}
	if dc.exp.Satisfied(key) && ds.GetSpec().GetUpdateStrategy().GetType() == "RollingUpdate" {
		if err := dc.rollingUpdate(ctx, key, ds, nodes, byNode, hash); err != nil {
			return 0, err
		}
	}
	if err := dc.cleanupHistory(ctx, ds, old, byNode); err != nil {
		return 0, fmt.Errorf("clean up history of daemonset %s: %w", key, err)
	}
	statusAfter, err := dc.updateStatus(ctx, ds, nodes, byNode, hash, collisions)
	if err != nil {
		return 0, err
	}
	return earliest(after, statusAfter), nil
}

// earliest is the sooner of two requeue delays, 0 meaning none.
func earliest(a, b time.Duration) time.Duration {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// podsByNode claims the DaemonSet's pods (adopting matching orphans,
// releasing pods that stopped matching) and groups them by the node they
// are for. Finished pods being deleted no longer count.
func (dc *Controller) podsByNode(ctx context.Context, ds *appsv1.DaemonSet) (map[string][]*corev1.Pod, error) {
	m := controller.RefManager[*corev1.Pod]{Owner: ds.GetMetadata(), Ref: OwnerReference(ds), Selector: ds.GetSpec().GetSelector(),
		Patch: dc.patchPod, AdoptError: "adopt pod", ReleaseError: "release pod"}
	owned, err := m.Claim(ctx, dc.pods.Store().ByIndex(informer.IndexNamespace, ds.GetMetadata().GetNamespace()))
	if err != nil {
		return nil, err
	}
	out := map[string][]*corev1.Pod{}
	for _, pod := range owned {
		if pod.GetMetadata().GetDeletionTimestamp() != nil && finished(pod) {
			continue
		}
		if node := targetNode(pod); node != "" {
			out[node] = append(out[node], pod)
		}
	}
	return out, nil
}

func finished(pod *corev1.Pod) bool {
	phase := pod.GetStatus().GetPhase()
	return phase == "Succeeded" || phase == "Failed"
}
