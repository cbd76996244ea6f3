// Package volumeclass is the one rule for the StorageClass of a
// PersistentVolumeClaim or PersistentVolume, shared by the PV controller
// and the scheduler so both see the same class: the deprecated
// volume.beta.kubernetes.io/storage-class annotation wins over
// spec.storageClassName, as in Kubernetes' GetPersistentVolumeClaimClass
// and GetPersistentVolumeClass.
package volumeclass

import corev1 "skiff.dev/api/core/v1"

// AnnBetaClass is the deprecated annotation naming the class.
const AnnBetaClass = "volume.beta.kubernetes.io/storage-class"

// Claim is the claim's class; "" is none.
func Claim(c *corev1.PersistentVolumeClaim) string {
	if v, ok := c.GetMetadata().GetAnnotations()[AnnBetaClass]; ok {
		return v
	}
	return c.GetSpec().GetStorageClassName()
}

// ClaimNamed reports whether the claim names a class at all, even ""
// (which asks for none, so no default class is given it).
func ClaimNamed(c *corev1.PersistentVolumeClaim) bool {
	_, ok := c.GetMetadata().GetAnnotations()[AnnBetaClass]
	return ok || c.GetSpec().StorageClassName != nil
}

// Volume is the volume's class; "" is none.
func Volume(v *corev1.PersistentVolume) string {
	if c, ok := v.GetMetadata().GetAnnotations()[AnnBetaClass]; ok {
		return c
	}
	return v.GetSpec().GetStorageClassName()
}
