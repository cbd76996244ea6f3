// Package replicaset keeps each ReplicaSet's pods at its replica count:
// it adopts matching orphans, releases pods that stop matching, creates
// and deletes pods in bounded bursts, and reports replicas, ready and
// available pods in the status.
package replicaset

import (
	"context"
	"fmt"
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

// Controller is the ReplicaSet controller.
type Controller struct {
	*controller.Controller
	c    *client.Client
	rss  *informer.Informer[*appsv1.ReplicaSet]
	pods *informer.Informer[*corev1.Pod]
	exp  *controller.Expectations
	// Events records the pods it creates and deletes (nil records nothing).
	Events *events.Recorder
}

var tracer = otel.Tracer("skiff.dev/services/controller-manager/replicaset")

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	rc := &Controller{c: c, rss: f.ReplicaSets(), pods: f.Pods(), exp: controller.NewExpectations()}
	rc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(rc.reconcile),
		Keys: func() []string { return keys(rc.rss.Store().List()) }}
	rc.rss.AddHandler(informer.Handler[*appsv1.ReplicaSet]{
		OnAdd:    func(rs *appsv1.ReplicaSet) { rc.Enqueue(informer.KeyOf(rs)) },
		OnUpdate: func(_, rs *appsv1.ReplicaSet) { rc.Enqueue(informer.KeyOf(rs)) },
		OnDelete: func(rs *appsv1.ReplicaSet) { rc.exp.Forget(informer.KeyOf(rs)); rc.Enqueue(informer.KeyOf(rs)) },
	})
	rc.pods.AddHandler(informer.Handler[*corev1.Pod]{OnAdd: rc.podAdded, OnUpdate: rc.podUpdated, OnDelete: rc.podDeleted})
	return rc
}

func keys(rss []*appsv1.ReplicaSet) []string {
	out := make([]string, len(rss))
	for i, rs := range rss {
		out[i] = informer.KeyOf(rs)
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

// owner is the key of the ReplicaSet controlling a pod, if it is one we know.
func (rc *Controller) owner(pod *corev1.Pod) (string, bool) {
	ref := ControllerOf(pod.GetMetadata())
	if ref == nil || ref.GetKind() != "ReplicaSet" {
		return "", false
	}
	key := pod.GetMetadata().GetNamespace() + "/" + ref.GetName()
	rs, ok := rc.rss.Store().Get(key)
	if !ok || rs.GetMetadata().GetUid() != ref.GetUid() {
		return "", false
	}
	return key, true
}

// enqueueMatching queues every ReplicaSet that could adopt an orphan.
func (rc *Controller) enqueueMatching(pod *corev1.Pod) {
	for _, rs := range rc.rss.Store().ByIndex(informer.IndexNamespace, pod.GetMetadata().GetNamespace()) {
		if labels.Matches(rs.GetSpec().GetSelector(), pod.GetMetadata().GetLabels()) {
			rc.Enqueue(informer.KeyOf(rs))
		}
	}
}

func (rc *Controller) podAdded(pod *corev1.Pod) {
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

func (rc *Controller) podUpdated(old, pod *corev1.Pod) {
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

func (rc *Controller) podDeleted(pod *corev1.Pod) {
	if key, ok := rc.owner(pod); ok {
		rc.exp.DeletionObserved(key, informer.KeyOf(pod))
		rc.Enqueue(key)
	}
}

// reconcile brings one ReplicaSet to its desired state.
func (rc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	rs, ok := rc.rss.Store().Get(key)
	if !ok {
		rc.exp.Forget(key)
		return 0, nil // its pods are the garbage collector's
	}
	ctx = telemetry.ContextFromAnnotations(ctx, rs.GetMetadata().GetAnnotations())
	ctx, span := tracer.Start(ctx, "reconcile replicaset", trace.WithAttributes(attribute.String("replicaset", key)))
	defer span.End()

	owned, err := rc.claim(ctx, rs)
	if err != nil {
		return 0, err
	}
	active := activePods(owned)
	var manageErr error
	if rc.exp.Satisfied(key) && rs.GetMetadata().GetDeletionTimestamp() == nil {
		manageErr = rc.manage(ctx, key, rs, active)
	}
	status, after := computeStatus(rs, active, manageErr, time.Now())
	if err := rc.writeStatus(ctx, rs, status); err != nil {
		return 0, err
	}
	if manageErr != nil {
		return 0, manageErr
	}
	return after, nil
}

// claim returns the pods the ReplicaSet controls after adopting matching
// orphans and releasing pods it controls that no longer match.
func (rc *Controller) claim(ctx context.Context, rs *appsv1.ReplicaSet) ([]*corev1.Pod, error) {
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
			adopted, err := rc.adopt(ctx, rs, pod)
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
	yes := true
	return &metav1.OwnerReference{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.GetMetadata().GetName(),
		Uid: rs.GetMetadata().GetUid(), Controller: &yes, BlockOwnerDeletion: &yes}
}

// adopt makes rs the pod's controller with a strategic merge patch of its
// owner references (merged by uid), pinned to the pod's uid, as
// Kubernetes' controllers adopt: their role may patch pods, not update
// them.
func (rc *Controller) adopt(ctx context.Context, rs *appsv1.ReplicaSet, pod *corev1.Pod) (*corev1.Pod, error) {
	ref, err := kjson.Marshal(OwnerReference(rs))
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
func (rc *Controller) release(ctx context.Context, pod *corev1.Pod, uid string) error {
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
