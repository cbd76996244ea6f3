package app

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/volumeclass"
	"skiff.dev/services/scheduler/internal/queue"
	"skiff.dev/services/scheduler/internal/storage"
)

// volumeInformers feed the volume plugins' store from the apiserver and
// move the unschedulable pods that use claims back to the queue when a
// storage object changes (only those: pods without claims never wait on
// storage).
func volumeInformers(c *client.Client, s *storage.Store, q *queue.Queue) ([]component.Cache, []func(context.Context) error) {
	move := func() { q.MoveIf(usesClaims) }
	claims := watch(informer.FromResource(c.CoreV1().PersistentVolumeClaims("")), move,
		s.SetClaim, func(o *corev1.PersistentVolumeClaim) {
			s.DeleteClaim(o.GetMetadata().GetNamespace(), o.GetMetadata().GetName())
		})
	pvs := watch(informer.FromResource(c.CoreV1().PersistentVolumes()), move,
		func(o *corev1.PersistentVolume) { s.SetVolume(volumeOf(o)) },
		func(o *corev1.PersistentVolume) { s.DeleteVolume(o.GetMetadata().GetName()) })
	classes := watch(informer.FromResource(c.StorageV1().StorageClasses()), move,
		func(o *storagev1.StorageClass) { s.SetClass(classOf(o)) },
		func(o *storagev1.StorageClass) { s.DeleteClass(o.GetMetadata().GetName()) })
	csiNodes := watch(informer.FromResource(c.StorageV1().CSINodes()), move,
		func(o *storagev1.CSINode) { s.SetCSINode(csiNodeOf(o)) },
		func(o *storagev1.CSINode) { s.DeleteCSINode(o.GetMetadata().GetName()) })
	drivers := watch(informer.FromResource(c.StorageV1().CSIDrivers()), move,
		func(o *storagev1.CSIDriver) {
			s.SetDriver(&storage.Driver{Name: o.GetMetadata().GetName(), StorageCapacity: o.GetSpec().GetStorageCapacity()})
		},
		func(o *storagev1.CSIDriver) { s.DeleteDriver(o.GetMetadata().GetName()) })
	capacities := watch(informer.FromResource(c.StorageV1().CSIStorageCapacities("")), move,
		func(o *storagev1.CSIStorageCapacity) { s.SetCapacity(capacityOf(o)) },
		func(o *storagev1.CSIStorageCapacity) {
			s.DeleteCapacity(o.GetMetadata().GetNamespace(), o.GetMetadata().GetName())
		})
	caches := []component.Cache{claims, pvs, classes, csiNodes, drivers, capacities}
	starts := []func(context.Context) error{claims.Start, pvs.Start, classes.Start, csiNodes.Start, drivers.Start, capacities.Start}
	return caches, starts
}

// watch makes an informer that stores every object and, after each
// change, calls move.
func watch[T proto.Message](src informer.Source[T], move func(), set func(T), del func(T)) *informer.Informer[T] {
	inf := informer.New[T](src, informer.Options[T]{})
	inf.AddHandler(informer.Handler[T]{
		OnAdd:    func(o T) { set(o); move() },
		OnUpdate: func(_, o T) { set(o); move() },
		OnDelete: func(o T) { del(o); move() },
	})
	return inf
}

func usesClaims(p *corev1.Pod) bool {
	for _, v := range p.GetSpec().GetVolumes() {
		if v.GetVolumeSource().GetPersistentVolumeClaim() != nil {
			return true
		}
	}
	return false
}

func volumeOf(o *corev1.PersistentVolume) *storage.Volume {
	spec := o.GetSpec()
	v := &storage.Volume{Name: o.GetMetadata().GetName(), Labels: o.GetMetadata().GetLabels(),
		ClassName: volumeclass.Volume(o), VAC: spec.GetVolumeAttributesClassName(), AccessModes: spec.GetAccessModes(), VolumeMode: spec.GetVolumeMode(),
		NodeAffinity: spec.GetNodeAffinity().GetRequired(), Phase: o.GetStatus().GetPhase(),
		Deleting: o.GetMetadata().GetDeletionTimestamp() != nil, ResourceVersion: o.GetMetadata().GetResourceVersion()}
	if q, ok := spec.GetCapacity()["storage"]; ok {
		if n, err := resource.ParseQuantity(q.GetString_()); err == nil {
			v.Capacity = n.Value()
		}
	}
	if ref := spec.GetClaimRef(); ref != nil {
		v.ClaimRef = &storage.ClaimRef{Namespace: ref.GetNamespace(), Name: ref.GetName(), UID: ref.GetUid()}
	}
	if csi := spec.GetPersistentVolumeSource().GetCsi(); csi != nil {
		v.Driver, v.Handle = csi.GetDriver(), csi.GetVolumeHandle()
	}
	return v
}

func classOf(o *storagev1.StorageClass) *storage.Class {
	c := &storage.Class{Name: o.GetMetadata().GetName(), Provisioner: o.GetProvisioner(), BindingMode: o.GetVolumeBindingMode()}
	if c.BindingMode == "" {
		c.BindingMode = "Immediate"
	}
	for _, t := range o.GetAllowedTopologies() {
		term := storage.TopologyTerm{}
		for _, r := range t.GetMatchLabelExpressions() {
			term[r.GetKey()] = r.GetValues()
		}
		c.AllowedTopologies = append(c.AllowedTopologies, term)
	}
	return c
}

func csiNodeOf(o *storagev1.CSINode) *storage.CSINode {
	n := &storage.CSINode{Name: o.GetMetadata().GetName(), Drivers: map[string]storage.CSINodeDriver{}}
	for _, d := range o.GetSpec().GetDrivers() {
		var count *int32
		if a := d.GetAllocatable(); a != nil && a.Count != nil {
			count = a.Count
		}
		n.Drivers[d.GetName()] = storage.CSINodeDriver{NodeID: d.GetNodeId(), TopologyKeys: d.GetTopologyKeys(), Allocatable: count}
	}
	return n
}

func capacityOf(o *storagev1.CSIStorageCapacity) *storage.Capacity {
	bytes := func(q interface{ GetString_() string }) *int64 {
		if q == nil || q.GetString_() == "" {
			return nil
		}
		n, err := resource.ParseQuantity(q.GetString_())
		if err != nil {
			return nil
		}
		v := n.Value()
		return &v
	}
	c := &storage.Capacity{Namespace: o.GetMetadata().GetNamespace(), Name: o.GetMetadata().GetName(),
		ClassName: o.GetStorageClassName(), NodeTopology: o.GetNodeTopology()}
	if o.GetCapacity() != nil {
		c.Capacity = bytes(o.GetCapacity())
	}
	if o.GetMaximumVolumeSize() != nil {
		c.MaximumVolumeSize = bytes(o.GetMaximumVolumeSize())
	}
	return c
}

// volumeAPI writes the volume plugins' decisions through the client.
type volumeAPI struct{ c *client.Client }

// BindVolume sets the volume's claimRef as Kubernetes' scheduler binder
// does (the PV controller then completes the claim's side). It writes the
// version the decision was made on: a volume changed meanwhile (bound to
// another claim, say) is a conflict, and PreBind fails.
func (a volumeAPI) BindVolume(ctx context.Context, v *storage.Volume, claim *corev1.PersistentVolumeClaim) error {
	pvs := a.c.CoreV1().PersistentVolumes()
	pv, err := pvs.Get(ctx, v.Name)
	if err != nil {
		return fmt.Errorf("get persistentvolume %q: %w", v.Name, err)
	}
	if pv.GetMetadata().GetResourceVersion() != v.ResourceVersion {
		return fmt.Errorf("persistentvolume %q changed since it was chosen (resourceVersion %s, chosen at %s)",
			v.Name, pv.GetMetadata().GetResourceVersion(), v.ResourceVersion)
	}
	m := claim.GetMetadata()
	pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", ApiVersion: "v1", Namespace: m.GetNamespace(),
		Name: m.GetName(), Uid: m.GetUid(), ResourceVersion: m.GetResourceVersion()}
	if pv.Metadata.Annotations == nil {
		pv.Metadata.Annotations = map[string]string{}
	}
	pv.Metadata.Annotations[storage.AnnBoundByController] = "yes"
	if _, err := pvs.Update(ctx, pv, client.WriteOptions{}); err != nil {
		return fmt.Errorf("bind persistentvolume %q to %s/%s: %w", v.Name, m.GetNamespace(), m.GetName(), err)
	}
	return nil
}

// SelectNode annotates the claim with the chosen node, which starts its
// provisioning there. It updates the version of the claim the decision
// was based on, so a claim another pod gave a node meanwhile is a
// conflict, not overwritten.
func (a volumeAPI) SelectNode(ctx context.Context, claim *corev1.PersistentVolumeClaim, node string) (*corev1.PersistentVolumeClaim, error) {
	m := claim.GetMetadata()
	if sel, ok := m.GetAnnotations()[storage.AnnSelectedNode]; ok && sel != node {
		return nil, fmt.Errorf("persistentvolumeclaim %q already has node %q selected", m.GetName(), sel)
	}
	cp := proto.Clone(claim).(*corev1.PersistentVolumeClaim)
	if cp.Metadata.Annotations == nil {
		cp.Metadata.Annotations = map[string]string{}
	}
	cp.Metadata.Annotations[storage.AnnSelectedNode] = node
	out, err := a.c.CoreV1().PersistentVolumeClaims(m.GetNamespace()).Update(ctx, cp, client.WriteOptions{})
	if err != nil {
		return nil, fmt.Errorf("select node %q for persistentvolumeclaim %q: %w", node, m.GetName(), err)
	}
	return out, nil
}
