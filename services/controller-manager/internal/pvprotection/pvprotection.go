// Package pvprotection keeps a bound PersistentVolume from going away, as
// Kubernetes' PV protection controller does: every volume carries the
// kubernetes.io/pv-protection finalizer, and a deleted volume loses it
// once it is no longer Bound (its claim is gone or it was never claimed).
package pvprotection

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
const Name = "pv-protection"

// Finalizer holds a volume while it is bound.
const Finalizer = "kubernetes.io/pv-protection"

// Controller is the PV protection controller; its keys are volume names.
type Controller struct {
	*controller.Controller
	c       *client.Client
	volumes *informer.Informer[*corev1.PersistentVolume]
}

// New wires the controller to the shared volume informer.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	pc := &Controller{c: c, volumes: informers.For[*corev1.PersistentVolume, *corev1.PersistentVolumeList](f)}
	pc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(pc.reconcile),
		Keys: func() []string {
			var keys []string
			for _, v := range pc.volumes.Store().List() {
				keys = append(keys, v.GetMetadata().GetName())
			}
			return keys
		}}
	enqueue := func(v *corev1.PersistentVolume) { pc.Enqueue(v.GetMetadata().GetName()) }
	pc.volumes.AddHandler(informer.Handler[*corev1.PersistentVolume]{OnAdd: enqueue,
		OnUpdate: func(_, v *corev1.PersistentVolume) { enqueue(v) }})
	return pc
}

func (pc *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	v, ok := pc.volumes.Store().Get(name)
	if !ok {
		return 0, nil
	}
	has := slices.Contains(v.GetMetadata().GetFinalizers(), Finalizer)
	switch {
	case v.GetMetadata().GetDeletionTimestamp() == nil && !has:
		return 0, pc.setFinalizer(ctx, v, true)
	case v.GetMetadata().GetDeletionTimestamp() != nil && has && v.GetStatus().GetPhase() != "Bound":
		return 0, pc.setFinalizer(ctx, v, false)
	}
	return 0, nil
}

// setFinalizer adds or removes the finalizer by an update of the cached
// volume: a conflict means the cache is behind and the key comes back.
func (pc *Controller) setFinalizer(ctx context.Context, v *corev1.PersistentVolume, add bool) error {
	v = proto.Clone(v).(*corev1.PersistentVolume)
	m := v.GetMetadata()
	if add {
		m.Finalizers = append(m.Finalizers, Finalizer)
	} else {
		m.Finalizers = slices.DeleteFunc(m.Finalizers, func(f string) bool { return f == Finalizer })
	}
	_, err := pc.c.CoreV1().PersistentVolumes().Update(ctx, v, client.WriteOptions{})
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update the finalizers of volume %s: %w", m.GetName(), err)
	}
	return nil
}
