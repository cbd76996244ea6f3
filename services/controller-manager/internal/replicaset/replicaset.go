// Package replicaset keeps each ReplicaSet's pods at its replica count:
// it adopts matching orphans, releases pods that stop matching, creates
// and deletes pods in bounded bursts, and reports replicas, ready and
// available pods in the status. The same reconcile serves core/v1
// ReplicationControllers through a Kind that shows each as a ReplicaSet.
package replicaset

import (
	"context"
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
)

// BurstReplicas bounds the pods one reconcile creates or deletes.
const BurstReplicas = 500

// Name is the controller's name in --controllers.
const Name = "replicaset"

// Controller keeps the pods of the objects of one kind: ReplicaSets, or
// ReplicationControllers through their ReplicaSet view.
type Controller[T events.Object] struct {
	*controller.Controller
	c    *client.Client
	kind Kind[T]
	pods *informer.Informer[*corev1.Pod]
	exp  *controller.Expectations
	// patchPod patches a pod by strategic merge.
	patchPod func(context.Context, *corev1.Pod, []byte) (*corev1.Pod, error)
	span     string // the reconcile's span name
	// Events records the pods it creates and deletes (nil records nothing).
	Events *events.Recorder
}

var tracer = otel.Tracer("skiff.dev/services/controller-manager/replicaset")

// New is the ReplicaSet controller, wired to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller[*appsv1.ReplicaSet] {
	rc, err := NewFor(c, f, workers, ReplicaSets(c, f))
	if err != nil {
		panic(err) // the ReplicaSet kind is complete
	}
	return rc
}

// NewFor is the controller of a kind that works as ReplicaSets do.
func NewFor[T events.Object](c *client.Client, f *informers.Factory, workers int, k Kind[T]) (*Controller[T], error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	rc := &Controller[T]{c: c, kind: k, pods: f.Pods(), exp: controller.NewExpectations(), patchPod: controller.PodPatcher(c), span: "reconcile " + k.Name}
	rc.Controller = &controller.Controller{Name: k.Name, Workers: workers, Reconciler: controller.ReconcileFunc(rc.reconcile),
		Keys: func() []string { return keys(k.Objects.Store().List()) }}
	k.Objects.AddHandler(informer.Handler[T]{
		OnAdd:    func(obj T) { rc.Enqueue(informer.KeyOf(obj)) },
		OnUpdate: func(_, obj T) { rc.Enqueue(informer.KeyOf(obj)) },
		OnDelete: func(obj T) { rc.exp.Forget(informer.KeyOf(obj)); rc.Enqueue(informer.KeyOf(obj)) },
	})
	rc.pods.AddHandler(informer.Handler[*corev1.Pod]{OnAdd: rc.podAdded, OnUpdate: rc.podUpdated, OnDelete: rc.podDeleted})
	return rc, nil
}

func keys[T proto.Message](objs []T) []string {
	out := make([]string, len(objs))
	for i, obj := range objs {
		out[i] = informer.KeyOf(obj)
	}
	return out
}

// ControllerOf is the owner reference marked controller, if any.
func ControllerOf(meta *metav1.ObjectMeta) *metav1.OwnerReference {
	return controller.ControllerOf(meta)
}

// owner is the key of the object controlling a pod, if it is one we know.
func (rc *Controller[T]) owner(pod *corev1.Pod) (string, bool) {
	ref := ControllerOf(pod.GetMetadata())
	if ref == nil || ref.GetKind() != rc.kind.Kind {
		return "", false
	}
	key := pod.GetMetadata().GetNamespace() + "/" + ref.GetName()
	obj, ok := rc.kind.Objects.Store().Get(key)
	if !ok || obj.GetMetadata().GetUid() != ref.GetUid() {
		return "", false
	}
	return key, true
}

// enqueueMatching queues every object that could adopt an orphan.
func (rc *Controller[T]) enqueueMatching(pod *corev1.Pod) {
	for _, obj := range rc.kind.Objects.Store().ByIndex(informer.IndexNamespace, pod.GetMetadata().GetNamespace()) {
		if labels.Matches(rc.kind.View(obj).GetSpec().GetSelector(), pod.GetMetadata().GetLabels()) {
			rc.Enqueue(informer.KeyOf(obj))
		}
	}
}

func (rc *Controller[T]) podAdded(pod *corev1.Pod) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		rc.podDeleted(pod) // seen for the first time while going away
		return
	}
	if key, ok := rc.owner(pod); ok {
		rc.exp.CreationObserved(key)
		rc.Enqueue(key)
		return
	}
	if ControllerOf(pod.GetMetadata()) == nil {
		rc.enqueueMatching(pod)
	}
}

func (rc *Controller[T]) podUpdated(old, pod *corev1.Pod) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil && old.GetMetadata().GetDeletionTimestamp() == nil {
		rc.podDeleted(pod) // a pod being deleted no longer counts
		return
	}
	if oldKey, ok := rc.owner(old); ok {
		rc.Enqueue(oldKey)
	}
	if key, ok := rc.owner(pod); ok {
		rc.Enqueue(key)
		return
	}
	if ControllerOf(pod.GetMetadata()) == nil {
		rc.enqueueMatching(pod)
	}
}

func (rc *Controller[T]) podDeleted(pod *corev1.Pod) {
	if key, ok := rc.owner(pod); ok {
		rc.exp.DeletionObserved(key, informer.KeyOf(pod))
		rc.Enqueue(key)
	}
}

// reconcile brings one object to its desired state.
func (rc *Controller[T]) reconcile(ctx context.Context, key string) (time.Duration, error) {
	obj, ok := rc.kind.Objects.Store().Get(key)
	if !ok {
		rc.exp.Forget(key)
		return 0, nil // its pods are the garbage collector's
	}
	rs := rc.kind.View(obj)
	ctx = telemetry.ContextFromAnnotations(ctx, rs.GetMetadata().GetAnnotations())
	ctx, span := tracer.Start(ctx, rc.span, trace.WithAttributes(attribute.String(rc.kind.Name, key)))
	defer span.End()

	owned, err := rc.claim(ctx, obj, rs)
	if err != nil {
		return 0, err
	}
	active := activePods(owned)
	var manageErr error
	if rc.exp.Satisfied(key) && rs.GetMetadata().GetDeletionTimestamp() == nil {
		manageErr = rc.manage(ctx, key, obj, rs, active)
	}
	status, after := computeStatus(rs, active, manageErr, time.Now())
	if err := rc.writeStatus(ctx, obj, rs.GetStatus(), status); err != nil {
		return 0, err
	}
	if manageErr != nil {
		return 0, manageErr
	}
	return after, nil
}

// claim returns the pods the object controls after adopting matching
// orphans and releasing pods it controls that no longer match.
func (rc *Controller[T]) claim(ctx context.Context, obj T, rs *appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	m := controller.RefManager[*corev1.Pod]{Owner: rs.GetMetadata(), Ref: rc.ownerReference(obj), Selector: rs.GetSpec().GetSelector(),
		Patch: rc.patchPod, AdoptError: "adopt pod", ReleaseError: "release pod"}
	return m.Claim(ctx, rc.pods.Store().ByIndex(informer.IndexNamespace, rs.GetMetadata().GetNamespace()))
}

// OwnerReference is the controller reference a ReplicaSet puts on its pods.
func OwnerReference(rs *appsv1.ReplicaSet) *metav1.OwnerReference {
	return controller.OwnerReference("apps/v1", "ReplicaSet", rs.GetMetadata())
}

func (rc *Controller[T]) ownerReference(obj T) *metav1.OwnerReference {
	return controller.OwnerReference(rc.kind.APIVersion, rc.kind.Kind, obj.GetMetadata())
}

// activePods are the pods that count towards the replicas: not finished,
// not being deleted.
func activePods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		phase := p.GetStatus().GetPhase()
		if p.GetMetadata().GetDeletionTimestamp() == nil && phase != "Succeeded" && phase != "Failed" {
			out = append(out, p)
		}
	}
	return out
}
