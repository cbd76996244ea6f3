// Package storageclass holds what several parts of the apiserver read of
// StorageClasses the same way: whether a class is marked the default, and
// which class a claim or volume names (the beta annotation before the
// spec field, as Kubernetes reads it).
package storageclass

import metav1 "skiff.dev/api/meta/v1"

// Well-known annotations.
const (
	// DefaultAnnotation marks the default class.
	DefaultAnnotation = "storageclass.kubernetes.io/is-default-class"
	// BetaDefaultAnnotation is its beta form, still honoured.
	BetaDefaultAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
	// BetaClassAnnotation names a claim's or volume's class, before
	// spec.storageClassName existed; it wins over the field.
	BetaClassAnnotation = "volume.beta.kubernetes.io/storage-class"
)

// IsDefault tells whether a class's metadata marks it the default, by the
// GA or the beta annotation.
func IsDefault(meta *metav1.ObjectMeta) bool {
	a := meta.GetAnnotations()
	return a[DefaultAnnotation] == "true" || a[BetaDefaultAnnotation] == "true"
}

// Of is the class a claim or volume names: the beta annotation when set
// (even to ""), else its spec.storageClassName.
func Of(meta *metav1.ObjectMeta, specClass string) string {
	if class, ok := meta.GetAnnotations()[BetaClassAnnotation]; ok {
		return class
	}
	return specClass
}
