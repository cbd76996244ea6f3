// Package volumeclass is the one rule for the StorageClass of a
// PersistentVolumeClaim or PersistentVolume, shared by the apiserver
// (admission, printers), the PV controller and the scheduler so all see
// the same class: the deprecated volume.beta.kubernetes.io/storage-class
// annotation wins over spec.storageClassName, as in Kubernetes'
// GetPersistentVolumeClaimClass and GetPersistentVolumeClass. It also
// says which class is the default one, by the GA or the beta annotation.
package volumeclass

import (
	"cmp"
	"slices"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
)

// Well-known annotations.
const (
	// AnnBetaClass is the deprecated annotation naming the class.
	AnnBetaClass = "volume.beta.kubernetes.io/storage-class"
	// AnnDefault marks the default class.
	AnnDefault = "storageclass.kubernetes.io/is-default-class"
	// AnnBetaDefault is its beta form, still honoured.
	AnnBetaDefault = "storageclass.beta.kubernetes.io/is-default-class"
)

// IsDefault tells whether a class's metadata marks it the default, by the
// GA or the beta annotation (Kubernetes' IsDefaultAnnotation).
func IsDefault(meta *metav1.ObjectMeta) bool {
	a := meta.GetAnnotations()
	return a[AnnDefault] == "true" || a[AnnBetaDefault] == "true"
}

// DefaultClass is the newest class marked default, the first by name of
// those created at the same time, as Kubernetes picks it; nil when none
// is marked.
func DefaultClass(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var marked []*storagev1.StorageClass
	for _, c := range classes {
		if IsDefault(c.GetMetadata()) {
			marked = append(marked, c)
		}
	}
	if len(marked) == 0 {
		return nil
	}
	return slices.MinFunc(marked, func(a, b *storagev1.StorageClass) int {
		ta, tb := a.GetMetadata().GetCreationTimestamp().AsTime(), b.GetMetadata().GetCreationTimestamp().AsTime()
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return cmp.Compare(a.GetMetadata().GetName(), b.GetMetadata().GetName())
	})
}

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
