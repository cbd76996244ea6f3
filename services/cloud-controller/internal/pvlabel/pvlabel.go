// Package pvlabel is the cloud-controller's PersistentVolume labelling, as
// Kubernetes' PersistentVolumeLabel controller: each PersistentVolume is
// given the labels the cloud provider's VolumesService returns for it
// (topology.kubernetes.io/zone and region), with the Node its required
// node affinity pins it to. Labels the volume already has are never
// changed, so a label set by hand wins; a volume pinned to a Node that
// has not joined yet is looked at again when the Node appears. The
// provider is asked once per volume (and pinned Node) per leadership
// term, not on each of the volume's updates.
package pvlabel

import (
	"context"
	"fmt"
	"maps"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/cloudprovider"
	"skiff.dev/pkg/controller"
	"skiff.dev/pkg/informer"
)

// Name is the controller's name in --controllers.
const Name = "persistentvolume-label"

// Config wires the controller.
type Config struct {
	Client  *client.Client
	Volumes *informer.Informer[*corev1.PersistentVolume]
	Nodes   *informer.Informer[*corev1.Node]
	Workers int
	Observe controller.Observer
}

// Controller is the volume labelling controller; its keys are volume names.
type Controller struct {
	cfg    Config
	ctrl   *controller.Controller
	labels cloudprovider.VolumeLabeler // the provider of the current term
	// asked are the volumes labelled in this term. It is never replaced,
	// only reset: the informer's delete handler uses it from process
	// start, across terms.
	asked asked
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) *Controller {
	c := &Controller{cfg: cfg}
	c.ctrl = &controller.Controller{Name: Name, Workers: cfg.Workers, Observe: cfg.Observe, Reconciler: controller.ReconcileFunc(c.reconcile),
		Keys: func() []string {
			var keys []string
			for _, v := range cfg.Volumes.Store().List() {
				keys = append(keys, v.GetMetadata().GetName())
			}
			return keys
		}}
	enqueue := func(v *corev1.PersistentVolume) { c.ctrl.Enqueue(v.GetMetadata().GetName()) }
	cfg.Volumes.AddHandler(informer.Handler[*corev1.PersistentVolume]{OnAdd: enqueue,
		OnUpdate: func(_, v *corev1.PersistentVolume) { enqueue(v) },
		OnDelete: func(v *corev1.PersistentVolume) { c.asked.forget(v.GetMetadata().GetUid()) }})
	cfg.Nodes.AddHandler(informer.Handler[*corev1.Node]{OnAdd: func(n *corev1.Node) {
		for _, v := range cfg.Volumes.Store().List() {
			if value, _ := PinnedTo(v); value != "" && (value == n.GetMetadata().GetName() || value == n.GetMetadata().GetLabels()[hostnameLabel]) {
				enqueue(v)
			}
		}
	}})
	return c
}

// Run labels volumes with the provider's VolumesService until ctx ends:
// one leadership term.
func (c *Controller) Run(ctx context.Context, labels cloudprovider.VolumeLabeler) error {
	c.labels = labels
	c.asked.reset()
	return c.ctrl.Run(ctx)
}

func (c *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	v, ok := c.cfg.Volumes.Store().Get(name)
	if !ok || v.GetMetadata().GetDeletionTimestamp() != nil {
		return 0, nil
	}
	node := c.pinnedNode(v)
	uid := v.GetMetadata().GetUid()
	if c.asked.done(uid, node.GetMetadata().GetName()) {
		return 0, nil
	}
	want, err := c.labels.GetVolumeLabels(ctx, v, node)
	if err != nil {
		return 0, fmt.Errorf("labels of volume %s from the cloud provider: %w", name, err)
	}
	have := v.GetMetadata().GetLabels()
	add := map[string]string{}
	for k, val := range want {
		if _, ok := have[k]; !ok {
			add[k] = val
		}
	}
	if len(add) == 0 {
		c.asked.record(uid, node.GetMetadata().GetName())
		return 0, nil
	}
	v = proto.Clone(v).(*corev1.PersistentVolume)
	if v.Metadata.Labels == nil {
		v.Metadata.Labels = map[string]string{}
	}
	maps.Copy(v.Metadata.Labels, add)
	_, err = c.cfg.Client.CoreV1().PersistentVolumes().Update(ctx, v, client.WriteOptions{})
	if err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("label volume %s: %w", name, err)
	}
	c.asked.record(uid, node.GetMetadata().GetName())
	return 0, nil
}
