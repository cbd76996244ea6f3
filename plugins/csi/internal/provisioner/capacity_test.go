package provisioner

import (
	"context"
	"testing"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/plugins/csi/internal/driver"
)

func TestCapacityPublishing(t *testing.T) {
	other := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Provisioner: "other.csi"}
	e := newEnv(t, 1<<30, class("Delete"), other)
	ctx := context.Background()
	c := NewCapacity(e.p.cfg, e.cc, e.client, "kube-system", time.Minute, quiet)
	list := func() []storagev1.CSIStorageCapacity {
		t.Helper()
		l, err := e.client.StorageV1().CSIStorageCapacities("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	items := list()
	if len(items) != 1 {
		t.Fatalf("%d objects, want one for class standard", len(items))
	}
	o := items[0]
	if o.StorageClassName != "standard" || o.Capacity.Value() != 1<<30 ||
		o.NodeTopology.MatchLabels[driver.TopologyKey] != "node-a" || o.Labels[LabelDriver] != driver.Name ||
		o.Labels[LabelManagedBy] != "external-provisioner-node-a" {
		t.Fatalf("object %+v", o)
	}

	if _, _, err := e.p.Provision(ctx, provisionOpts("pvc-c", "256Mi")); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := list()[0].Capacity.Value(); got != 768<<20 {
		t.Fatalf("capacity after a 256Mi volume: %d", got)
	}

	if err := e.client.StorageV1().StorageClasses().Delete(ctx, "standard", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(list()); n != 0 {
		t.Fatalf("%d objects left after the class was deleted", n)
	}
}

// The objects are owned by the provisioner's Pod when there is one, so
// the garbage collector removes a node's objects with its provisioner;
// an object written before gets its owner on the next sync.
func TestCapacityOwner(t *testing.T) {
	e := newEnv(t, 1<<30, class("Delete"))
	ctx := context.Background()
	c := NewCapacity(e.p.cfg, e.cc, e.client, "kube-system", time.Minute, quiet)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	controller := true
	owner := metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "csi-local-x7k2p", UID: "uid-1", Controller: &controller}
	cfg := e.p.cfg
	cfg.Owner = &owner
	c = NewCapacity(cfg, e.cc, e.client, "kube-system", time.Minute, quiet)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := e.client.StorageV1().CSIStorageCapacities("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 {
		t.Fatalf("%d objects", len(l.Items))
	}
	if refs := l.Items[0].OwnerReferences; len(refs) != 1 || refs[0].UID != "uid-1" || refs[0].Kind != "Pod" || refs[0].Controller == nil || !*refs[0].Controller {
		t.Errorf("ownerReferences = %+v, want the provisioner's Pod", refs)
	}
}
