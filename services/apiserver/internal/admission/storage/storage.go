// Package storage holds Kubernetes' storage admission plugins:
// DefaultStorageClass (a new claim that names no class gets the default
// one), StorageObjectInUseProtection (new claims and volumes get their
// protection finalizers) and PersistentVolumeClaimResize (a claim grows
// only when bound and its class allows expansion).
package storage

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/volumeclass"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
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
		if !ok || !isClaim(w) || w.Operation != registry.OpCreate || volumeclass.ClaimNamed(c) {
			return nil
		}
		list, err := classes.List(ctx, "", registry.ListOptions{})
		if err != nil {
			return apierrors.NewForbidden(claims, w.Name, fmt.Sprintf("list StorageClasses: %v", err))
		}
		if def := volumeclass.DefaultClass(list.(*storagev1.StorageClassList).GetItems()); def != nil {
			if c.Spec == nil {
				c.Spec = &corev1.PersistentVolumeClaimSpec{}
			}
			c.Spec.StorageClassName = proto.String(def.GetMetadata().GetName())
		}
		return nil
	}}
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
