// Package storage holds Kubernetes' storage admission plugins:
// DefaultStorageClass (a new claim that names no class gets the default
// one), StorageObjectInUseProtection (new claims and volumes get their
// protection finalizers) and PersistentVolumeClaimResize (a claim grows
// only when bound and its class allows expansion).
package storage

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/storageclass"
)

// The plugins' names in --enable-admission-plugins.
const (
	DefaultStorageClassName = "DefaultStorageClass"
	ProtectionName          = "StorageObjectInUseProtection"
	ResizeName              = "PersistentVolumeClaimResize"
)

// Well-known names the plugins use.
const (
	PVCProtectionFinalizer = "kubernetes.io/pvc-protection"
	PVProtectionFinalizer  = "kubernetes.io/pv-protection"
)

var claims = apierrors.Resource{Resource: "persistentvolumeclaims"}

func isClaim(w *registry.Write) bool {
	return w.Resource.Group == "" && w.Resource.Plural == "persistentvolumeclaims" && w.Subresource == ""
}

// DefaultStorageClass returns the plugin over the StorageClasses'
// backend. It lists the classes on each claim create, as
// DefaultIngressClass does: a class created a moment before is seen.
func DefaultStorageClass(classes registry.Backend) admission.Plugin {
	return admission.Plugin{Name: DefaultStorageClassName, Mutate: func(ctx context.Context, w *registry.Write) error {
		c, ok := w.Object.(*corev1.PersistentVolumeClaim)
		if !ok || !isClaim(w) || w.Operation != registry.OpCreate || hasClass(c) {
			return nil
		}
		list, err := classes.List(ctx, "", registry.ListOptions{})
		if err != nil {
			return apierrors.NewForbidden(claims, w.Name, fmt.Sprintf("list StorageClasses: %v", err))
		}
		if def := DefaultClass(list.(*storagev1.StorageClassList).GetItems()); def != nil {
			if c.Spec == nil {
				c.Spec = &corev1.PersistentVolumeClaimSpec{}
			}
			c.Spec.StorageClassName = proto.String(def.GetMetadata().GetName())
		}
		return nil
	}}
}

// hasClass: the claim names a class, "" included, in its spec or by the
// beta annotation.
func hasClass(c *corev1.PersistentVolumeClaim) bool {
	_, annotated := c.GetMetadata().GetAnnotations()[storageclass.BetaClassAnnotation]
	return annotated || c.GetSpec().StorageClassName != nil
}

// DefaultClass is the newest class marked default, the first by name of
// those created at the same time; nil when none is marked.
func DefaultClass(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var marked []*storagev1.StorageClass
	for _, c := range classes {
		if storageclass.IsDefault(c.GetMetadata()) {
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

// Protection adds kubernetes.io/pvc-protection to new claims and
// kubernetes.io/pv-protection to new volumes, so neither goes while in
// use: the controller-manager's protection controllers remove them.
func Protection() admission.Plugin {
	return admission.Plugin{Name: ProtectionName, Mutate: func(_ context.Context, w *registry.Write) error {
		if w.Operation != registry.OpCreate || w.Subresource != "" || w.Resource.Group != "" {
			return nil
		}
		var finalizer string
		switch w.Resource.Plural {
		case "persistentvolumeclaims":
			finalizer = PVCProtectionFinalizer
		case "persistentvolumes":
			finalizer = PVProtectionFinalizer
		default:
			return nil
		}
		if w.Object == nil {
			return nil
		}
		meta := object.Meta(w.Object)
		if meta != nil && !slices.Contains(meta.Finalizers, finalizer) {
			meta.Finalizers = append(meta.Finalizers, finalizer)
		}
		return nil
	}}
}
