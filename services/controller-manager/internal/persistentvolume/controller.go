package persistentvolume

import (
	"context"
	"strings"
	"time"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "persistentvolume-binder"

// Component is the source of its events, as in Kubernetes.
const Component = "persistentvolume-controller"

// resync is how often an unbound claim or a released volume is looked at
// again, as Kubernetes' --pvclaimbinder-sync-period.
const resync = 15 * time.Second

// Keys are "claim/<namespace>/<name>" and "volume/<name>".
const (
	claimPrefix  = "claim/"
	volumePrefix = "volume/"
)

// Controller is the PV controller.
type Controller struct {
	*controller.Controller
	c       *client.Client
	claims  *informer.Informer[*corev1.PersistentVolumeClaim]
	volumes *informer.Informer[*corev1.PersistentVolume]
	classes *informer.Informer[*storagev1.StorageClass]
	pods    *informer.Informer[*corev1.Pod]
	// Events records Kubernetes' events (nil: none).
	Events *events.Recorder
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	pc := &Controller{c: c, pods: f.Pods(),
		claims:  informers.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](f),
		volumes: informers.For[*corev1.PersistentVolume, *corev1.PersistentVolumeList](f),
		classes: informers.For[*storagev1.StorageClass, *storagev1.StorageClassList](f)}
	pc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(pc.reconcile),
		Keys: pc.allKeys}
	claimChanged := func(cl *corev1.PersistentVolumeClaim) { pc.Enqueue(claimPrefix + informer.KeyOf(cl)) }
	pc.claims.AddHandler(informer.Handler[*corev1.PersistentVolumeClaim]{OnAdd: claimChanged,
		OnUpdate: func(_, cl *corev1.PersistentVolumeClaim) { claimChanged(cl) },
		OnDelete: func(cl *corev1.PersistentVolumeClaim) {
			// Its volume is released.
			if v := cl.GetSpec().GetVolumeName(); v != "" {
				pc.Enqueue(volumePrefix + v)
			}
			pc.volumesOf(cl)
		}})
	volumeChanged := func(v *corev1.PersistentVolume) {
		pc.Enqueue(volumePrefix + v.GetMetadata().GetName())
		if r := v.GetSpec().GetClaimRef(); r != nil {
			pc.Enqueue(claimPrefix + r.GetNamespace() + "/" + r.GetName())
		} else {
			pc.enqueuePending()
		}
	}
	pc.volumes.AddHandler(informer.Handler[*corev1.PersistentVolume]{OnAdd: volumeChanged,
		OnUpdate: func(_, v *corev1.PersistentVolume) { volumeChanged(v) },
		OnDelete: func(v *corev1.PersistentVolume) {
			if r := v.GetSpec().GetClaimRef(); r != nil {
				pc.Enqueue(claimPrefix + r.GetNamespace() + "/" + r.GetName())
			}
		}})
	classChanged := func(*storagev1.StorageClass) { pc.enqueuePending() }
	pc.classes.AddHandler(informer.Handler[*storagev1.StorageClass]{OnAdd: classChanged,
		OnUpdate: func(_, sc *storagev1.StorageClass) { classChanged(sc) }})
	return pc
}

// volumesOf enqueues the volumes whose claimRef names the claim.
func (pc *Controller) volumesOf(cl *corev1.PersistentVolumeClaim) {
	for _, v := range pc.volumes.Store().List() {
		r := v.GetSpec().GetClaimRef()
		if r.GetName() == cl.GetMetadata().GetName() && r.GetNamespace() == cl.GetMetadata().GetNamespace() {
			pc.Enqueue(volumePrefix + v.GetMetadata().GetName())
		}
	}
}

// enqueuePending looks again at the claims that are not bound yet: a new
// volume or class may serve them.
func (pc *Controller) enqueuePending() {
	for _, cl := range pc.claims.Store().List() {
		if _, done := cl.GetMetadata().GetAnnotations()[AnnBindCompleted]; !done {
			pc.Enqueue(claimPrefix + informer.KeyOf(cl))
		}
	}
}

func (pc *Controller) allKeys() []string {
	var keys []string
	for _, cl := range pc.claims.Store().List() {
		keys = append(keys, claimPrefix+informer.KeyOf(cl))
	}
	for _, v := range pc.volumes.Store().List() {
		keys = append(keys, volumePrefix+v.GetMetadata().GetName())
	}
	return keys
}

func (pc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	if name, ok := strings.CutPrefix(key, volumePrefix); ok {
		v, ok := pc.volumes.Store().Get(name)
		if !ok {
			return 0, nil
		}
		return pc.syncVolume(ctx, v)
	}
	cl, ok := pc.claims.Store().Get(strings.TrimPrefix(key, claimPrefix))
	if !ok {
		return 0, nil
	}
	return pc.syncClaim(ctx, cl)
}

func (pc *Controller) event(obj events.Object, typ, reason, msg string) {
	pc.Events.Eventf(obj, typ, reason, "%s", msg)
}
