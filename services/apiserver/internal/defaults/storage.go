package defaults

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
)

// PersistentVolume: reclaim policy Retain, volume mode Filesystem, phase
// Pending, canonical capacity quantities; a hostPath source's type "".
func PersistentVolume(pv *corev1.PersistentVolume) {
	if pv.Spec == nil {
		pv.Spec = &corev1.PersistentVolumeSpec{}
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = "Retain"
	}
	if pv.Spec.VolumeMode == nil {
		pv.Spec.VolumeMode = proto.String("Filesystem")
	}
	if hp := pv.Spec.GetPersistentVolumeSource().GetHostPath(); hp != nil && hp.Type == nil {
		hp.Type = proto.String("")
	}
	Canonical(pv.Spec.GetCapacity())
	if pv.Status == nil {
		pv.Status = &corev1.PersistentVolumeStatus{}
	}
	if pv.Status.Phase == "" {
		pv.Status.Phase = "Pending"
	}
}

// StorageClass: reclaim policy Delete, binding mode Immediate.
func StorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		sc.ReclaimPolicy = proto.String("Delete")
	}
	if sc.VolumeBindingMode == nil {
		sc.VolumeBindingMode = proto.String("Immediate")
	}
}

// CSIDriver: attachRequired true, podInfoOnMount false, the Persistent
// lifecycle mode, storageCapacity false, fsGroupPolicy
// ReadWriteOnceWithFSType, requiresRepublish false, seLinuxMount false.
func CSIDriver(d *storagev1.CSIDriver) {
	if d.Spec == nil {
		d.Spec = &storagev1.CSIDriverSpec{}
	}
	sp := d.Spec
	for _, b := range []**bool{&sp.PodInfoOnMount, &sp.StorageCapacity, &sp.RequiresRepublish, &sp.SeLinuxMount} {
		if *b == nil {
			*b = proto.Bool(false)
		}
	}
	if sp.AttachRequired == nil {
		sp.AttachRequired = proto.Bool(true)
	}
	if len(sp.VolumeLifecycleModes) == 0 {
		sp.VolumeLifecycleModes = []string{"Persistent"}
	}
	if sp.FsGroupPolicy == nil {
		sp.FsGroupPolicy = proto.String("ReadWriteOnceWithFSType")
	}
}

// CSIStorageCapacity: canonical quantities.
func CSIStorageCapacity(c *storagev1.CSIStorageCapacity) {
	Canonical(map[string]*metav1.Quantity{"capacity": c.Capacity, "maximumVolumeSize": c.MaximumVolumeSize})
}
