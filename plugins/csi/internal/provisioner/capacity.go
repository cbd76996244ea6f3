package provisioner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Labels of the CSIStorageCapacity objects, as external-provisioner sets.
const (
	LabelDriver    = "csi.storage.k8s.io/drivername"
	LabelManagedBy = "csi.storage.k8s.io/managed-by"
)

// Capacity publishes a CSIStorageCapacity object for this node and each
// storage class of the driver, from the driver's GetCapacity, and keeps
// it current: at every interval and at every Kick. The objects are owned
// by Config.Owner when set.
type Capacity struct {
	cfg       Config
	csi       csi.ControllerClient
	client    kubernetes.Interface
	namespace string
	interval  time.Duration
	log       *slog.Logger
	kick      chan struct{}
}

// NewCapacity returns the publisher of node's capacity into namespace.
func NewCapacity(cfg Config, c csi.ControllerClient, client kubernetes.Interface, namespace string, interval time.Duration, log *slog.Logger) *Capacity {
	return &Capacity{cfg: cfg, csi: c, client: client, namespace: namespace, interval: interval, log: log, kick: make(chan struct{}, 1)}
}

// Kick asks for a refresh soon (a volume was created or deleted).
func (c *Capacity) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run refreshes until ctx ends.
func (c *Capacity) Run(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		if err := c.Sync(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("publishing storage capacity failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
	}
}

// Sync writes the capacity of every class of the driver, and removes
// this node's objects of classes that are gone.
func (c *Capacity) Sync(ctx context.Context) error {
	classes, err := c.client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing storage classes: %w", err)
	}
	want := map[string]bool{}
	for i := range classes.Items {
		class := &classes.Items[i]
		if class.Provisioner != c.cfg.Driver {
			continue
		}
		want[c.objectName(class.Name)] = true
		if err := c.publish(ctx, class); err != nil {
			return err
		}
	}
	return c.prune(ctx, want)
}

// objectName is the name of the object for this node and class.
func (c *Capacity) objectName(class string) string {
	sum := sha256.Sum256([]byte(c.cfg.Node + "\x00" + class))
	return "csisc-" + hex.EncodeToString(sum[:8])
}

func (c *Capacity) publish(ctx context.Context, class *storagev1.StorageClass) error {
	resp, err := c.csi.GetCapacity(ctx, &csi.GetCapacityRequest{
		Parameters:         class.Parameters,
		AccessibleTopology: &csi.Topology{Segments: map[string]string{c.cfg.TopologyKey: c.cfg.Node}},
	})
	if err != nil {
		return fmt.Errorf("GetCapacity for class %s: %w", class.Name, err)
	}
	obj := &storagev1.CSIStorageCapacity{
		ObjectMeta: metav1.ObjectMeta{
			Name: c.objectName(class.Name), Namespace: c.namespace,
			Labels: map[string]string{LabelDriver: c.cfg.Driver, LabelManagedBy: c.managedBy()},
		},
		NodeTopology:     &metav1.LabelSelector{MatchLabels: map[string]string{c.cfg.TopologyKey: c.cfg.Node}},
		StorageClassName: class.Name,
		Capacity:         resource.NewQuantity(resp.GetAvailableCapacity(), resource.BinarySI),
	}
	if c.cfg.Owner != nil {
		obj.OwnerReferences = []metav1.OwnerReference{*c.cfg.Owner}
	}
	if m := resp.GetMaximumVolumeSize(); m != nil {
		obj.MaximumVolumeSize = resource.NewQuantity(m.GetValue(), resource.BinarySI)
	}
	api := c.client.StorageV1().CSIStorageCapacities(c.namespace)
	old, err := api.Get(ctx, obj.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, obj, metav1.CreateOptions{})
	case err == nil:
		if old.Capacity != nil && old.Capacity.Cmp(*obj.Capacity) == 0 && old.StorageClassName == obj.StorageClassName &&
			equality.Semantic.DeepEqual(old.OwnerReferences, obj.OwnerReferences) {
			return nil
		}
		obj.ResourceVersion = old.ResourceVersion
		_, err = api.Update(ctx, obj, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("CSIStorageCapacity %s for class %s: %w", obj.Name, class.Name, err)
	}
	return nil
}

// prune deletes this node's objects that no class wants any more.
func (c *Capacity) prune(ctx context.Context, want map[string]bool) error {
	api := c.client.StorageV1().CSIStorageCapacities(c.namespace)
	list, err := api.List(ctx, metav1.ListOptions{LabelSelector: LabelDriver + "=" + c.cfg.Driver + "," + LabelManagedBy + "=" + c.managedBy()})
	if err != nil {
		return fmt.Errorf("listing CSIStorageCapacity: %w", err)
	}
	for _, o := range list.Items {
		if want[o.Name] {
			continue
		}
		if err := api.Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting CSIStorageCapacity %s: %w", o.Name, err)
		}
	}
	return nil
}

// managedBy names this node's provisioner, as external-provisioner does
// in its node deployment.
func (c *Capacity) managedBy() string {
	v := "external-provisioner-" + c.cfg.Node
	if len(v) > 63 { // a label value's limit
		sum := sha256.Sum256([]byte(c.cfg.Node))
		v = "external-provisioner-" + hex.EncodeToString(sum[:16])
	}
	return v
}
