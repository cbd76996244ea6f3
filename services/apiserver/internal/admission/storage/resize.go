package storage

import (
	"context"

	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/volumeclass"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// Resize refuses (403) an update that grows a claim's storage request
// unless the claim is bound and names, before and after, the same class,
// one whose allowVolumeExpansion is true.
func Resize(classes registry.Backend) admission.Plugin {
	return admission.Plugin{Name: ResizeName, Validate: func(ctx context.Context, w *registry.Write) error {
		c, ok := w.Object.(*corev1.PersistentVolumeClaim)
		old, okOld := w.Old.(*corev1.PersistentVolumeClaim)
		if !ok || !okOld || !isClaim(w) || w.Operation != registry.OpUpdate || !grows(c, old) {
			return nil
		}
		if old.GetStatus().GetPhase() != "Bound" {
			return apierrors.NewForbidden(claims, w.Name, "Only bound persistent volume claims can be expanded")
		}
		if !allowsResize(ctx, classes, c, old) {
			return apierrors.NewForbidden(claims, w.Name, "only dynamically provisioned pvc can be resized and "+
				"the storageclass that provisions the pvc must support resize")
		}
		return nil
	}}
}

func grows(c, old *corev1.PersistentVolumeClaim) bool {
	size, _ := resource.ParseQuantity(c.GetSpec().GetResources().GetRequests()["storage"].GetString_())
	was, _ := resource.ParseQuantity(old.GetSpec().GetResources().GetRequests()["storage"].GetString_())
	return size.Cmp(was) > 0
}

func allowsResize(ctx context.Context, classes registry.Backend, c, old *corev1.PersistentVolumeClaim) bool {
	name, was := volumeclass.Claim(c), volumeclass.Claim(old)
	if name == "" || was == "" || name != was {
		return false
	}
	obj, err := classes.Get(ctx, "", name, registry.GetOptions{})
	if err != nil {
		return false
	}
	return obj.(*storagev1.StorageClass).GetAllowVolumeExpansion()
}
