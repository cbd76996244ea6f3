package printers

import (
	"strings"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/volumeclass"
)

// The storage kinds' columns, as kubectl shows them against Kubernetes.
func init() {
	register("", "PersistentVolume", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Capacity", "string", "capacity is the description of the persistent volume's resources and capacity."),
			col("Access Modes", "string", "accessModes contains all ways the volume can be mounted."),
			col("Reclaim Policy", "string", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
			col("Status", "string", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
			col("Claim", "string", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
			col("StorageClass", "string", "StorageClass of the pv"),
			col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
			col("Reason", "string", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."),
			ageCol(),
			wide(col("VolumeMode", "string", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.")),
		},
		Cells: typed(volumeCells),
	})
	register("storage.k8s.io", "StorageClass", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Provisioner", "string", "provisioner indicates the type of the provisioner."),
			col("ReclaimPolicy", "string", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete."),
			col("VolumeBindingMode", "string", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound."),
			col("AllowVolumeExpansion", "string", "allowVolumeExpansion shows whether the storage class allow volume expand."),
			ageCol(),
		},
		Cells: typed(classCells),
	})
	register("storage.k8s.io", "CSIDriver", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("AttachRequired", "boolean", "attachRequired indicates this CSI volume driver requires an attach operation."),
			col("PodInfoOnMount", "boolean", "podInfoOnMount indicates this CSI volume driver requires additional pod information (like podName, podUID, etc.) during mount operations."),
			col("StorageCapacity", "boolean", "storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity that the driver deployment will report."),
			col("TokenRequests", "string", "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting volume for to do necessary authentication."),
			col("RequiresRepublish", "boolean", "requiresRepublish indicates the CSI driver wants `NodePublishVolume` being periodically called to reflect any possible change in the mounted volume."),
			col("Modes", "string", "volumeLifecycleModes defines what kind of volumes this CSI volume driver supports."),
			ageCol(),
		},
		Cells: typed(driverCells),
	})
	register("storage.k8s.io", "CSINode", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"),
			ageCol(),
		},
		Cells: typed(func(n *storagev1.CSINode, now time.Time) []any {
			return []any{n.GetMetadata().GetName(), int64(len(n.GetSpec().GetDrivers())), Age(n.GetMetadata(), now)}
		}),
	})
	register("storage.k8s.io", "VolumeAttachment", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			{Name: "Attacher", Type: "string", Format: "name", Description: "attacher indicates the name of the volume driver that MUST handle this request."},
			col("PV", "string", "persistentVolumeName represents the name of the persistent volume to attach."),
			col("Node", "string", "nodeName represents the node that the volume should be attached to."),
			col("Attached", "boolean", "attached indicates the volume is successfully attached."),
			ageCol(),
		},
		Cells: typed(func(va *storagev1.VolumeAttachment, now time.Time) []any {
			sp := va.GetSpec()
			return []any{va.GetMetadata().GetName(), sp.GetAttacher(), sp.GetSource().GetPersistentVolumeName(), sp.GetNodeName(),
				va.GetStatus().GetAttached(), Age(va.GetMetadata(), now)}
		}),
	})
	register("storage.k8s.io", "CSIStorageCapacity", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("StorageClassName", "string", "storageClassName represents the name of the StorageClass that the reported capacity applies to."),
			col("Capacity", "string", "capacity is the value reported by the CSI driver in its GetCapacityResponse for a GetCapacityRequest with topology and parameters that match the previous fields."),
		},
		Cells: typed(func(c *storagev1.CSIStorageCapacity, _ time.Time) []any {
			capacity := "<unset>"
			if c.GetCapacity() != nil {
				capacity = quantityString(c.GetCapacity())
			}
			return []any{c.GetMetadata().GetName(), c.GetStorageClassName(), capacity}
		}),
	})
}

// volumeCells: CLAIM is namespace/name ("" when unbound), the class the
// beta annotation names first, Terminating while the volume is deleted.
func volumeCells(pv *corev1.PersistentVolume, now time.Time) []any {
	sp, meta := pv.GetSpec(), pv.GetMetadata()
	claim := ""
	if ref := sp.GetClaimRef(); ref != nil {
		claim = ref.GetNamespace() + "/" + ref.GetName()
	}
	phase := pv.GetStatus().GetPhase()
	if meta.GetDeletionTimestamp() != nil {
		phase = "Terminating"
	}
	vac, mode := "<unset>", "<unset>"
	if sp.VolumeAttributesClassName != nil {
		vac = sp.GetVolumeAttributesClassName()
	}
	if sp.VolumeMode != nil {
		mode = sp.GetVolumeMode()
	}
	class := volumeclass.Volume(pv)
	return []any{meta.GetName(), quantityString(sp.GetCapacity()["storage"]), accessModes(sp.GetAccessModes()), sp.GetPersistentVolumeReclaimPolicy(), phase, claim,
		class, vac, pv.GetStatus().GetReason(), Age(meta, now), mode}
}

// classCells: the default class is "NAME (default)"; unset fields show
// Kubernetes' defaults.
func classCells(sc *storagev1.StorageClass, now time.Time) []any {
	name := sc.GetMetadata().GetName()
	if volumeclass.IsDefault(sc.GetMetadata()) {
		name += " (default)"
	}
	reclaim, binding := "Delete", "Immediate"
	if sc.ReclaimPolicy != nil {
		reclaim = sc.GetReclaimPolicy()
	}
	if sc.VolumeBindingMode != nil {
		binding = sc.GetVolumeBindingMode()
	}
	return []any{name, sc.GetProvisioner(), reclaim, binding, sc.GetAllowVolumeExpansion(), Age(sc.GetMetadata(), now)}
}

func driverCells(d *storagev1.CSIDriver, now time.Time) []any {
	sp := d.GetSpec()
	attach := true
	if sp.AttachRequired != nil {
		attach = sp.GetAttachRequired()
	}
	tokens := "<unset>"
	if sp.GetTokenRequests() != nil {
		var audiences []string
		for _, t := range sp.GetTokenRequests() {
			audiences = append(audiences, t.GetAudience())
		}
		tokens = strings.Join(audiences, ",")
	}
	modes := orNone(strings.Join(sp.GetVolumeLifecycleModes(), ","))
	return []any{d.GetMetadata().GetName(), attach, sp.GetPodInfoOnMount(), sp.GetStorageCapacity(), tokens, sp.GetRequiresRepublish(),
		modes, Age(d.GetMetadata(), now)}
}
