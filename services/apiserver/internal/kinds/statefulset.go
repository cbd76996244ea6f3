package kinds

import (
	"k8s.io/apimachinery/pkg/util/validation"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// statefulSets is apps/v1 StatefulSet: namespaced, named as DNS labels
// (its pods are <name>-<ordinal>), with the status and scale
// subresources.
func statefulSets() *registry.Resource {
	return apps("statefulsets", "statefulset", "StatefulSet", newOf[appsv1.StatefulSet](), newOf[appsv1.StatefulSetList](), statefulSetStrategy, "sts")
}

// statefulSetStrategy: a status write keeps the labels, as Kubernetes'
// status strategy of the apps kinds does.
var statefulSetStrategy = registry.Strategy{
	Default:                mutate(defaults.StatefulSet),
	PrepareForStatusUpdate: keepMeta(func(m, old *metav1.ObjectMeta) { m.Labels = old.GetLabels() }),
	Validate:               check(validate.ValidateStatefulSet),
	ValidateCreate:         check(validate.ValidateStatefulSetCreate),
	ValidateUpdate:         checkUpdate(validate.ValidateStatefulSetUpdate),
	ValidateStatusUpdate:   checkUpdate(validate.ValidateStatefulSetStatusUpdate),
	NameValidation:         validation.IsDNS1123Label,
}

// persistentVolumeClaims is core/v1 PersistentVolumeClaim: namespaced,
// with the status subresource. Claims stay Pending: nothing binds them
// to volumes yet.
func persistentVolumeClaims() *registry.Resource {
	return core("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, true,
		newOf[corev1.PersistentVolumeClaim](), newOf[corev1.PersistentVolumeClaimList](), persistentVolumeClaimStrategy, "pvc")
}

// persistentVolumeClaimStrategy: status writes keep what
// ResetObjectMetaForStatus keeps, as Kubernetes' claim status strategy.
var persistentVolumeClaimStrategy = registry.Strategy{
	Default:                mutate(defaults.PersistentVolumeClaim),
	PrepareForStatusUpdate: keepMeta(keepMetaForStatus),
	Validate:               check(validate.ValidatePersistentVolumeClaim),
	ValidateUpdate:         checkUpdate(validate.ValidatePersistentVolumeClaimUpdate),
	// Kubernetes also selects claims by a bare "name" field, a bug it keeps.
	FieldSet: fields(func(c *corev1.PersistentVolumeClaim) map[string]string {
		return map[string]string{"name": c.GetMetadata().GetName()}
	}),
}
