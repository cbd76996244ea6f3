package kinds

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// The storage kinds: core/v1 PersistentVolume and the storage.k8s.io/v1
// group. PersistentVolumes and VolumeAttachments have the status
// subresource; a status write keeps what Kubernetes' status strategies
// keep.

// persistentVolumes is core/v1 PersistentVolume: cluster-scoped, with
// the status subresource.
func persistentVolumes() *registry.Resource {
	return core("persistentvolumes", "persistentvolume", "PersistentVolume", false, true,
		newOf[corev1.PersistentVolume](), newOf[corev1.PersistentVolumeList](), persistentVolumeStrategy, "pv")
}

// storageKinds are the storage.k8s.io/v1 resources.
func storageKinds() []*registry.Resource {
	return []*registry.Resource{
		storage("storageclasses", "storageclass", "StorageClass", false, false,
			newOf[storagev1.StorageClass](), newOf[storagev1.StorageClassList](), storageClassStrategy, "sc"),
		storage("volumeattachments", "volumeattachment", "VolumeAttachment", false, true,
			newOf[storagev1.VolumeAttachment](), newOf[storagev1.VolumeAttachmentList](), volumeAttachmentStrategy),
		storage("csidrivers", "csidriver", "CSIDriver", false, false,
			newOf[storagev1.CSIDriver](), newOf[storagev1.CSIDriverList](), csiDriverStrategy),
		storage("csinodes", "csinode", "CSINode", false, false,
			newOf[storagev1.CSINode](), newOf[storagev1.CSINodeList](), csiNodeStrategy),
		storage("csistoragecapacities", "csistoragecapacity", "CSIStorageCapacity", true, false,
			newOf[storagev1.CSIStorageCapacity](), newOf[storagev1.CSIStorageCapacityList](), csiStorageCapacityStrategy),
	}
}

func storage(plural, singular, kind string, namespaced, status bool, newObj, newList func() proto.Message, st registry.Strategy, short ...string) *registry.Resource {
	r := core(plural, singular, kind, namespaced, status, newObj, newList, st, short...)
	r.Group = "storage.k8s.io"
	return r
}

// persistentVolumeStrategy: a new volume is Pending since now; a status
// write that changes the phase stamps lastPhaseTransitionTime unless the
// writer set a new one, as Kubernetes' status strategy does (which, unlike
// most, keeps the metadata the write carries, and checks only that
// metadata).
var persistentVolumeStrategy = registry.Strategy{
	Default:              mutate(defaults.PersistentVolume),
	Validate:             check(validate.ValidatePersistentVolume),
	ValidateUpdate:       checkUpdate(validate.ValidatePersistentVolumeUpdate),
	StatusChecksMetaOnly: true,
	// Kubernetes also selects volumes by a bare "name" field, a bug it keeps.
	FieldSet: fields(func(pv *corev1.PersistentVolume) map[string]string {
		return map[string]string{"name": pv.GetMetadata().GetName()}
	}),
	PrepareForCreate: func(_ context.Context, obj proto.Message) {
		obj.(*corev1.PersistentVolume).Status = &corev1.PersistentVolumeStatus{Phase: "Pending", LastPhaseTransitionTime: pvNow()}
	},
	PrepareForUpdate: func(subresource string, obj, old proto.Message) {
		if subresource == "status" {
			stampPhaseTransition(obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume))
		}
	},
}

func pvNow() *timestamppb.Timestamp { return timestamppb.New(time.Now().Truncate(time.Second)) }

func stampPhaseTransition(pv, old *corev1.PersistentVolume) {
	if pv.Status == nil {
		pv.Status = &corev1.PersistentVolumeStatus{}
	}
	st, was := pv.Status, old.GetStatus()
	if st.Phase == "" {
		// Defaulted later here, before this in Kubernetes: an unset
		// phase is Pending, not a change.
		st.Phase = "Pending"
	}
	switch {
	case st.Phase == was.GetPhase() && st.LastPhaseTransitionTime == nil:
		st.LastPhaseTransitionTime = was.GetLastPhaseTransitionTime()
	case st.Phase != was.GetPhase() && (st.LastPhaseTransitionTime == nil || proto.Equal(st.LastPhaseTransitionTime, was.GetLastPhaseTransitionTime())):
		st.LastPhaseTransitionTime = pvNow()
	}
}

// volumeAttachmentStrategy: a new attachment has no status; a status
// write keeps what ResetObjectMetaForStatus keeps.
var volumeAttachmentStrategy = registry.Strategy{
	Validate:               check(validate.ValidateVolumeAttachment),
	ValidateUpdate:         checkUpdate(validate.ValidateVolumeAttachmentUpdate),
	PrepareForStatusUpdate: keepMeta(keepMetaForStatus),
}

// The other storage.k8s.io kinds: a class is named as a DNS subdomain, a
// CSINode as its node.
var (
	storageClassStrategy = registry.Strategy{
		Default:        mutate(defaults.StorageClass),
		Validate:       check(validate.ValidateStorageClass),
		ValidateUpdate: checkUpdate(validate.ValidateStorageClassUpdate),
	}
	csiDriverStrategy = registry.Strategy{
		Default:        mutate(defaults.CSIDriver),
		Validate:       check(validate.ValidateCSIDriver),
		ValidateUpdate: checkUpdate(validate.ValidateCSIDriverUpdate),
	}
	csiNodeStrategy = registry.Strategy{
		Validate:       check(validate.ValidateCSINode),
		ValidateUpdate: checkUpdate(validate.ValidateCSINodeUpdate),
	}
	csiStorageCapacityStrategy = registry.Strategy{
		Default:        mutate(defaults.CSIStorageCapacity),
		Validate:       check(validate.ValidateCSIStorageCapacity),
		ValidateUpdate: checkUpdate(validate.ValidateCSIStorageCapacityUpdate),
	}
)
