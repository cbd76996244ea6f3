package persistentvolume

import (
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/volumeclass"
)

// Well-known annotations.
const (
	AnnBindCompleted      = "pv.kubernetes.io/bind-completed"
	AnnBoundByController  = "pv.kubernetes.io/bound-by-controller"
	AnnProvisionedBy      = "pv.kubernetes.io/provisioned-by"
	AnnStorageProvisioner = "volume.kubernetes.io/storage-provisioner"
	AnnBetaProvisioner    = "volume.beta.kubernetes.io/storage-provisioner"
	AnnSelectedNode       = "volume.kubernetes.io/selected-node"
)

func bytesOf(q *metav1.Quantity) int64 {
	if q == nil {
		return 0
	}
	v, err := resource.ParseQuantity(q.GetString_())
	if err != nil {
		return 0
	}
	return v.Value()
}

// claimClass, hasClass and volumeClass are the shared rule: the beta
// annotation first, then spec.storageClassName (the scheduler reads the
// same through pkg/volumeclass).
var (
	claimClass  = volumeclass.Claim
	hasClass    = volumeclass.ClaimNamed
	volumeClass = volumeclass.Volume
)

func toClaim(c *corev1.PersistentVolumeClaim) *Claim {
	m := c.GetMetadata()
	return &Claim{Namespace: m.GetNamespace(), Name: m.GetName(), UID: m.GetUid(),
		Request: bytesOf(c.GetSpec().GetResources().GetRequests()["storage"]), AccessModes: c.GetSpec().GetAccessModes(),
		Class: claimClass(c), Mode: c.GetSpec().GetVolumeMode(), VAC: c.GetSpec().GetVolumeAttributesClassName(),
		Selector: c.GetSpec().GetSelector()}
}

func toVolume(v *corev1.PersistentVolume) *Volume {
	m, s := v.GetMetadata(), v.GetSpec()
	out := &Volume{Name: m.GetName(), Capacity: bytesOf(s.GetCapacity()["storage"]), AccessModes: s.GetAccessModes(),
		Class: volumeClass(v), Mode: s.GetVolumeMode(), VAC: s.GetVolumeAttributesClassName(), Labels: m.GetLabels(),
		Phase: v.GetStatus().GetPhase(), Deleting: m.GetDeletionTimestamp() != nil}
	if r := s.GetClaimRef(); r != nil {
		out.ClaimRef = &Ref{Namespace: r.GetNamespace(), Name: r.GetName(), UID: r.GetUid()}
	}
	return out
}
