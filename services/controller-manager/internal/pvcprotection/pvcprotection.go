// Package pvcprotection keeps a PersistentVolumeClaim that a pod uses from
// going away, as Kubernetes' PVC protection controller does: every claim
// carries the kubernetes.io/pvc-protection finalizer, and a deleted claim
// loses it only once no scheduled pod names it in its volumes. The pod
// cache is asked first; when it shows no user, a live list of the
// namespace's pods confirms it, so a pod the cache has not seen yet still
// holds the claim.
package pvcprotection

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "pvc-protection"

// Finalizer holds a claim while pods use it.
const Finalizer = "kubernetes.io/pvc-protection"

// Controller is the PVC protection controller; its keys are claims.
type Controller struct {
	*controller.Controller
	c      *client.Client
	claims *informer.Informer[*corev1.PersistentVolumeClaim]
	pods   *informer.Informer[*corev1.Pod]
}

// New wires the controller to the shared claim and pod informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	pc := &Controller{c: c, claims: informers.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](f),
		pods: f.Pods()}
	pc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(pc.reconcile),
		Keys: func() []string {
			var keys []string
			for _, cl := range pc.claims.Store().List() {
				keys = append(keys, informer.KeyOf(cl))
			}
			return keys
		}}
	enqueue := func(cl *corev1.PersistentVolumeClaim) { pc.Enqueue(informer.KeyOf(cl)) }
	pc.claims.AddHandler(informer.Handler[*corev1.PersistentVolumeClaim]{OnAdd: enqueue,
		OnUpdate: func(_, cl *corev1.PersistentVolumeClaim) { enqueue(cl) }})
	// A pod that goes away, or stops running, may free its claims.
	podChanged := func(p *corev1.Pod) {
		for _, key := range informers.PodClaimKeys(p) {
			pc.Enqueue(key)
		}
	}
	pc.pods.AddHandler(informer.Handler[*corev1.Pod]{OnDelete: podChanged,
		OnUpdate: func(old, p *corev1.Pod) { podChanged(old); podChanged(p) }})
	return pc
}

func (pc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	cl, ok := pc.claims.Store().Get(key)
	if !ok {
		return 0, nil
	}
	has := slices.Contains(cl.GetMetadata().GetFinalizers(), Finalizer)
	if cl.GetMetadata().GetDeletionTimestamp() == nil {
		if has {
			return 0, nil
		}
		return 0, pc.setFinalizer(ctx, cl, true)
	}
	if !has {
		return 0, nil
	}
	used, err := pc.inUse(ctx, cl)
	if err != nil || used {
		return 0, err
	}
	return 0, pc.setFinalizer(ctx, cl, false)
}

// inUse: a scheduled pod names the claim, in the cache or, when the cache
// shows none, in a live list.
func (pc *Controller) inUse(ctx context.Context, cl *corev1.PersistentVolumeClaim) (bool, error) {
	for _, p := range pc.pods.Store().ByIndex(informers.IndexPodClaim, informer.KeyOf(cl)) {
		if UsesClaim(p, cl.GetMetadata().GetName()) {
			return true, nil
		}
	}
	list, err := pc.c.CoreV1().Pods(cl.GetMetadata().GetNamespace()).List(ctx, client.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("live list of pods failed: %w", err)
	}
	for _, p := range list.GetItems() {
		if UsesClaim(p, cl.GetMetadata().GetName()) {
			return true, nil
		}
	}
	return false, nil
}

// UsesClaim: the pod is scheduled and one of its volumes is the claim. As
// in Kubernetes, only scheduled pods count (the kubelet refuses to start a
// pod whose claim is being deleted) and a finished pod still counts until
// it is deleted.
func UsesClaim(p *corev1.Pod, claim string) bool {
	if p.GetSpec().GetNodeName() == "" {
		return false
	}
	for _, v := range p.GetSpec().GetVolumes() {
		if v.GetVolumeSource().GetPersistentVolumeClaim().GetClaimName() == claim {
			return true
		}
	}
	return false
}

// setFinalizer adds or removes the finalizer by an update of the cached
// claim: a conflict means the cache is behind and the key comes back.
func (pc *Controller) setFinalizer(ctx context.Context, cl *corev1.PersistentVolumeClaim, add bool) error {
	cl = proto.Clone(cl).(*corev1.PersistentVolumeClaim)
	m := cl.GetMetadata()
	if add {
		m.Finalizers = append(m.Finalizers, Finalizer)
	} else {
		m.Finalizers = slices.DeleteFunc(m.Finalizers, func(f string) bool { return f == Finalizer })
	}
	_, err := pc.c.CoreV1().PersistentVolumeClaims(m.GetNamespace()).
		Update(ctx, cl, client.WriteOptions{})
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update the finalizers of claim %s/%s: %w", m.GetNamespace(), m.GetName(), err)
	}
	return nil
}
