// Package replicaset keeps each ReplicaSet's pods at its replica count:
// it adopts matching orphans, releases pods that stop matching, creates
// and deletes pods in bounded bursts, and reports replicas, ready and
// available pods in the status. The same reconcile serves core/v1
// ReplicationControllers through a Kind that shows each as a ReplicaSet.
package replicaset

import (
	"context"
	"fmt"
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
	"skiff.dev/pkg/kjson"
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
	span string // the reconcile's span name
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
	rc := &Controller[T]{c: c, kind: k, pods: f.Pods(), exp: controller.NewExpectations(), span: "reconcile " + k.Name}
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
	for _, ref := range meta.GetOwnerReferences() {
		if ref.GetController() {
			return ref
		}
	}
	return nil
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
	uid := rs.GetMetadata().GetUid()
	sel := rs.GetSpec().GetSelector()
	deleting := rs.GetMetadata().GetDeletionTimestamp() != nil
	var owned []*corev1.Pod
	for _, pod := range rc.pods.Store().ByIndex(informer.IndexNamespace, rs.GetMetadata().GetNamespace()) {
		ref := ControllerOf(pod.GetMetadata())
		matches := labels.Matches(sel, pod.GetMetadata().GetLabels())
		switch {
		case ref != nil && ref.GetUid() == uid && matches:
			owned = append(owned, pod)
		case ref != nil && ref.GetUid() == uid:
			if err := rc.release(ctx, pod, uid); err != nil {
				return nil, err
			}
		case ref == nil && matches && !deleting && pod.GetMetadata().GetDeletionTimestamp() == nil:
			adopted, err := rc.adopt(ctx, obj, pod)
			if err != nil {
				return nil, err
			}
			if adopted != nil {
				owned = append(owned, adopted)
			}
		}
	}
	return owned, nil
}

// OwnerReference is the controller reference a ReplicaSet puts on its pods.
func OwnerReference(rs *appsv1.ReplicaSet) *metav1.OwnerReference {
	return ownerReference("apps/v1", "ReplicaSet", rs.GetMetadata())
}

// ownerReference is the controller reference an object puts on its pods.
func ownerReference(apiVersion, kind string, meta *metav1.ObjectMeta) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{ApiVersion: apiVersion, Kind: kind, Name: meta.GetName(),
		Uid: meta.GetUid(), Controller: &yes, BlockOwnerDeletion: &yes}
}

func (rc *Controller[T]) ownerReference(obj T) *metav1.OwnerReference {
	return ownerReference(rc.kind.APIVersion, rc.kind.Kind, obj.GetMetadata())
}

// adopt makes obj the pod's controller with a strategic merge patch of its
// owner references (merged by uid), pinned to the pod's uid, as
// Kubernetes' controllers adopt: their role may patch pods, not update
// them.
func (rc *Controller[T]) adopt(ctx context.Context, obj T, pod *corev1.Pod) (*corev1.Pod, error) {
	ref, err := kjson.Marshal(rc.ownerReference(obj))
	if err != nil {
		return nil, err
	}
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[%s],"uid":%q}}`, ref, pod.GetMetadata().GetUid())
	out, err := rc.c.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Patch(ctx, pod.GetMetadata().GetName(), client.StrategicPatch, []byte(patch), client.WriteOptions{}, "")
	switch {
	case client.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("adopt pod %s: %w", informer.KeyOf(pod), err)
	}
	return out, nil
}

// release drops the owner reference of uid from the pod, by patch.
func (rc *Controller[T]) release(ctx context.Context, pod *corev1.Pod, uid string) error {
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"$patch":"delete","uid":%q}],"uid":%q}}`, uid, pod.GetMetadata().GetUid())
	_, err := rc.c.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Patch(ctx, pod.GetMetadata().GetName(), client.StrategicPatch, []byte(patch), client.WriteOptions{}, "")
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("release pod %s: %w", informer.KeyOf(pod), err)
	}
	return nil
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
