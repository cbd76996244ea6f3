package validation

import (
	"slices"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/volumeclass"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	claimAccessModes = []string{"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"}
	claimVolumeModes = []string{"Block", "Filesystem"}
)

// ValidatePersistentVolumeClaim checks a claim's spec.
func ValidatePersistentVolumeClaim(c *corev1.PersistentVolumeClaim) field.ErrorList {
	return ValidatePersistentVolumeClaimSpec(c.GetSpec(), field.NewPath("spec"))
}

// ValidatePersistentVolumeClaimSpec checks a claim's spec at p, as
// Kubernetes does for claims and a StatefulSet's volume claim templates:
// at least one supported access mode (ReadWriteOncePod alone), a positive
// storage request, class names that are DNS subdomains, a known volume
// mode, and data sources that name what they point at.
func ValidatePersistentVolumeClaimSpec(sp *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	modes := p.Child("accessModes")
	if len(sp.GetAccessModes()) == 0 {
		errs = append(errs, field.Required(modes, "at least 1 access mode is required"))
	}
	if sp.GetSelector() != nil {
		errs = append(errs, validateLabelSelector(sp.GetSelector(), p.Child("selector"))...)
	}
	once, others := false, false
	for _, m := range sp.GetAccessModes() {
		switch {
		case !slices.Contains(claimAccessModes, m):
			errs = append(errs, field.NotSupported(modes, m, claimAccessModes))
		case m == "ReadWriteOncePod":
			once = true
		default:
			others = true
		}
	}
	if once && others {
		errs = append(errs, field.Forbidden(modes, "may not use ReadWriteOncePod with other access modes"))
	}
	storage := p.Child("resources").Key("storage")
	if q, ok := sp.GetResources().GetRequests()["storage"]; !ok {
		errs = append(errs, field.Required(storage, ""))
	} else if v, err := resource.ParseQuantity(q.GetString_()); err != nil {
		errs = append(errs, field.Invalid(storage, q.GetString_(), err.Error()))
	} else if v.Sign() <= 0 {
		errs = append(errs, field.Invalid(storage, v.String(), "must be greater than zero"))
	}
	if sp.StorageClassName != nil && sp.GetStorageClassName() != "" {
		errs = append(errs, invalid(p.Child("storageClassName"), sp.GetStorageClassName(), validation.IsDNS1123Subdomain(sp.GetStorageClassName()))...)
	}
	if sp.VolumeMode != nil && !slices.Contains(claimVolumeModes, sp.GetVolumeMode()) {
		errs = append(errs, field.NotSupported(p.Child("volumeMode"), sp.GetVolumeMode(), claimVolumeModes))
	}
	if ds := sp.GetDataSource(); ds != nil {
		errs = append(errs, validateDataSource(ds.ApiGroup, ds.GetKind(), ds.GetName(), p.Child("dataSource"))...)
	}
	if ref := sp.GetDataSourceRef(); ref != nil {
		rp := p.Child("dataSourceRef")
		errs = append(errs, validateDataSource(ref.ApiGroup, ref.GetKind(), ref.GetName(), rp)...)
		if ref.GetNamespace() != "" {
			errs = append(errs, invalid(rp.Child("namespace"), ref.GetNamespace(), validation.IsDNS1123Label(ref.GetNamespace()))...)
		}
	}
	if ds, ref := sp.GetDataSource(), sp.GetDataSourceRef(); ds != nil && ref != nil {
		switch {
		case ref.GetNamespace() != "":
			errs = append(errs, field.Invalid(p, p.Child("dataSource").String(), "may not be specified when dataSourceRef.namespace is specified"))
		case (ds.ApiGroup == nil) != (ref.ApiGroup == nil) || ds.GetApiGroup() != ref.GetApiGroup() || ds.GetKind() != ref.GetKind() || ds.GetName() != ref.GetName():
			errs = append(errs, field.Invalid(p, p.Child("dataSource").String(), "must match dataSourceRef"))
		}
	}
	if sp.GetVolumeAttributesClassName() != "" {
		errs = append(errs, invalid(p.Child("volumeAttributesClassName"), sp.GetVolumeAttributesClassName(),
			validation.IsDNS1123Subdomain(sp.GetVolumeAttributesClassName()))...)
	}
	return errs
}

func validateDataSource(group *string, kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	}
	g := ""
	if group != nil {
		g = *group
	}
	if g == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(p, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if g != "" {
		errs = append(errs, invalid(p.Child("apiGroup"), g, validation.IsDNS1123Subdomain(g))...)
	}
	return errs
}

// ValidatePersistentVolumeClaimUpdate keeps a claim's spec as it was
// created, as Kubernetes does: volumeName may be set once; a bound claim
// may change its storage request (never below its capacity) and its
// volume attributes class; the volume mode never changes.
func ValidatePersistentVolumeClaimUpdate(c, old *corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	next, prev := proto.Clone(c.GetSpec()).(*corev1.PersistentVolumeClaimSpec), proto.Clone(old.GetSpec()).(*corev1.PersistentVolumeClaimSpec)
	if next == nil {
		next = &corev1.PersistentVolumeClaimSpec{}
	}
	if prev == nil {
		prev = &corev1.PersistentVolumeClaimSpec{}
	}
	if prev.GetVolumeName() == "" {
		prev.VolumeName = next.GetVolumeName()
	}
	if prev.StorageClassName == nil && next.StorageClassName != nil {
		if a, ok := old.GetMetadata().GetAnnotations()[volumeclass.AnnBetaClass]; !ok || a == next.GetStorageClassName() {
			prev.StorageClassName = next.StorageClassName
		}
	}
	if c.GetStatus().GetPhase() == "Bound" {
		if next.GetResources().GetRequests() != nil {
			if q, ok := prev.GetResources().GetRequests()["storage"]; ok {
				next.Resources.Requests["storage"] = q
			} else {
				delete(next.Resources.Requests, "storage")
			}
		}
		next.VolumeAttributesClassName = prev.VolumeAttributesClassName
	}
	if !proto.Equal(next, prev) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	newSize, _ := resource.ParseQuantity(c.GetSpec().GetResources().GetRequests()["storage"].GetString_())
	oldSize, _ := resource.ParseQuantity(old.GetSpec().GetResources().GetRequests()["storage"].GetString_())
	capacity, _ := resource.ParseQuantity(old.GetStatus().GetCapacity()["storage"].GetString_())
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(capacity) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	if c.GetSpec().GetVolumeMode() != old.GetSpec().GetVolumeMode() {
		errs = append(errs, immutable(field.NewPath("volumeMode"), c.GetSpec().GetVolumeMode()))
	}
	if old.GetStatus().CurrentVolumeAttributesClassName != nil && c.GetSpec().GetVolumeAttributesClassName() != old.GetSpec().GetVolumeAttributesClassName() {
		vp := field.NewPath("spec", "volumeAttributesClassName")
		switch {
		case c.GetSpec().VolumeAttributesClassName == nil:
			errs = append(errs, field.Forbidden(vp, "update to nil is forbidden when status.currentVolumeAttributesClassName is not nil"))
		case c.GetSpec().GetVolumeAttributesClassName() == "":
			errs = append(errs, field.Forbidden(vp, "update to empty string is forbidden when status.currentVolumeAttributesClassName is not nil"))
		}
	}
	return errs
}
