// Package statefulset runs each StatefulSet's pods with stable identities:
// pod <set>-<ordinal> for each ordinal from spec.ordinals.start, with its
// own claims (<template>-<set>-<ordinal>) from the volume claim
// templates, its hostname and the governing service as subdomain. Under
// OrderedReady pods are made in ordinal order, each Running and Ready
// (and available) before the next, and removed from the highest ordinal
// one at a time; under Parallel all at once. Template changes are
// recorded as ControllerRevisions and rolled out by RollingUpdate (from
// the highest ordinal down to the partition) or OnDelete. Claims are
// kept or handed to the garbage collector as the retention policy says,
// through owner references.
package statefulset

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
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
const Name = "statefulset"

// Controller is the StatefulSet controller.
type Controller struct {
	*controller.Controller
	c      *client.Client
	sets   *informer.Informer[*appsv1.StatefulSet]
	pods   *informer.Informer[*corev1.Pod]
	claims *informer.Informer[*corev1.PersistentVolumeClaim]
	hist   *history.History
	// patchPod patches a pod by strategic merge.
	patchPod func(context.Context, *corev1.Pod, []byte) (*corev1.Pod, error)
	// Events records what it does to pods and claims (nil records nothing).
	Events *events.Recorder
}

var tracer = otel.Tracer("skiff.dev/services/controller-manager/statefulset")

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	sc := &Controller{c: c, sets: informers.For[*appsv1.StatefulSet, *appsv1.StatefulSetList](f), pods: f.Pods(),
		claims: informers.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](f), hist: history.NewHistory(c, f),
		patchPod: controller.PodPatcher(c)}
	sc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(sc.reconcile),
		Keys: func() []string {
			var keys []string
			for _, s := range sc.sets.Store().List() {
				keys = append(keys, informer.KeyOf(s))
			}
			return keys
		}}
	sc.sets.AddHandler(informer.Handler[*appsv1.StatefulSet]{
		OnAdd:    func(s *appsv1.StatefulSet) { sc.Enqueue(informer.KeyOf(s)) },
		OnUpdate: func(_, s *appsv1.StatefulSet) { sc.Enqueue(informer.KeyOf(s)) },
		OnDelete: func(s *appsv1.StatefulSet) { sc.Enqueue(informer.KeyOf(s)) },
	})
	sc.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    func(p *corev1.Pod) { sc.podChanged(nil, p) },
		OnUpdate: func(old, p *corev1.Pod) { sc.podChanged(old, p) },
		OnDelete: func(p *corev1.Pod) { sc.podChanged(nil, p) },
	})
	// A claim that goes away may be what a new pod waits for (a claim
	// still owned by a scaled-down pod of the same name).
	sc.claims.AddHandler(informer.Handler[*corev1.PersistentVolumeClaim]{OnDelete: sc.claimDeleted})
	sc.hist.Informer().AddHandler(informer.Handler[*appsv1.ControllerRevision]{
		OnAdd:    func(r *appsv1.ControllerRevision) { sc.enqueueOwner(r.GetMetadata()) },
		OnUpdate: func(_, r *appsv1.ControllerRevision) { sc.enqueueOwner(r.GetMetadata()) },
		OnDelete: func(r *appsv1.ControllerRevision) { sc.enqueueOwner(r.GetMetadata()) },
	})
	return sc
}

// enqueueOwner queues the StatefulSet that controls an object, if any.
func (sc *Controller) enqueueOwner(meta *metav1.ObjectMeta) bool {
	for _, ref := range meta.GetOwnerReferences() {
		if ref.GetController() && ref.GetKind() == "StatefulSet" && ref.GetApiVersion() == "apps/v1" {
			key := meta.GetNamespace() + "/" + ref.GetName()
			if s, ok := sc.sets.Store().Get(key); ok && s.GetMetadata().GetUid() == ref.GetUid() {
				sc.Enqueue(key)
			}
			return true
		}
	}
	return false
}

// podChanged queues the set of a pod (and of its old self), or the sets
// that could adopt it when it has no controller.
func (sc *Controller) podChanged(old, pod *corev1.Pod) {
	if old != nil {
		sc.enqueueOwner(old.GetMetadata())
	}
	if sc.enqueueOwner(pod.GetMetadata()) {
		return
	}
	for _, s := range sc.sets.Store().ByIndex(informer.IndexNamespace, pod.GetMetadata().GetNamespace()) {
		if labels.Matches(s.GetSpec().GetSelector(), pod.GetMetadata().GetLabels()) {
			sc.Enqueue(informer.KeyOf(s))
		}
	}
}

// claimDeleted queues the sets whose claims are named like this one
// (<template>-<set>-<ordinal>).
func (sc *Controller) claimDeleted(c *corev1.PersistentVolumeClaim) {
	name := c.GetMetadata().GetName()
	for _, s := range sc.sets.Store().ByIndex(informer.IndexNamespace, c.GetMetadata().GetNamespace()) {
		for _, t := range s.GetSpec().GetVolumeClaimTemplates() {
			if strings.HasPrefix(name, t.GetMetadata().GetName()+"-"+s.GetMetadata().GetName()+"-") {
				sc.Enqueue(informer.KeyOf(s))
				break
			}
		}
	}
}

// reconcile brings one StatefulSet to its desired state.
func (sc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	set, ok := sc.sets.Store().Get(key)
	if !ok {
		return 0, nil // its pods and revisions are the garbage collector's
	}
	ctx = telemetry.ContextFromAnnotations(ctx, set.GetMetadata().GetAnnotations())
	ctx, span := tracer.Start(ctx, "reconcile statefulset", trace.WithAttributes(attribute.String("statefulset", key)))
	defer span.End()

	revs, err := sc.hist.Claim(ctx, set.GetMetadata(), OwnerReference(set), set.GetSpec().GetSelector())
	if err != nil {
		return 0, err
	}
	pods, err := sc.claimPods(ctx, set)
	if err != nil {
		return 0, err
	}
	current, update, collisions, err := sc.revisions(ctx, set, revs)
	if err != nil {
		return 0, err
	}
	p := &pass{sc: sc, set: set, current: current, update: update, now: time.Now()}
	if p.currentSet, err = applyRevision(set, current); err != nil {
		return 0, err
	}
	if p.updateSet, err = applyRevision(set, update); err != nil {
		return 0, err
	}
	status, syncErr := p.run(ctx, collisions, pods)
	if status != nil {
		if err := sc.writeStatus(ctx, set, status); err != nil {
			return 0, err
		}
	}
	if syncErr != nil {
		return 0, syncErr
	}
	if err := sc.truncateHistory(ctx, set, pods, revs, current, update); err != nil {
		return 0, err
	}
	// Pods that are ready but not yet available become so by time alone.
	if m := set.GetSpec().GetMinReadySeconds(); m > 0 && status.GetReadyReplicas() != status.GetAvailableReplicas() {
		return time.Duration(m) * time.Second, nil
	}
	return 0, nil
}

// claimPods returns the pods the set controls after adopting orphans
// that match its selector and carry its name, and releasing pods it
// controls that no longer match, as Kubernetes' controller does.
func (sc *Controller) claimPods(ctx context.Context, set *appsv1.StatefulSet) ([]*corev1.Pod, error) {
	m := controller.RefManager[*corev1.Pod]{Owner: set.GetMetadata(), Ref: OwnerReference(set), Selector: set.GetSpec().GetSelector(),
		Match: func(pod *corev1.Pod) bool { return isMember(set, pod) },
		Patch: sc.patchPod, AdoptError: "pod", ReleaseError: "pod"}
	return m.Claim(ctx, sc.pods.Store().ByIndex(informer.IndexNamespace, set.GetMetadata().GetNamespace()))
}
