package registry

import (
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

const maxAnnotationsBytes = 256 * 1024

// validateMeta checks the metadata every kind shares.
func (r *Resource) validateMeta(meta *metav1.ObjectMeta) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("metadata")
	switch {
	case meta.GetName() == "":
		errs = append(errs, field.Required(p.Child("name"), "name or generateName is required"))
	default:
		check := r.Strategy.NameValidation
		if check == nil {
			check = DNS1123Subdomain
		}
		for _, msg := range check(meta.GetName()) {
			errs = append(errs, field.Invalid(p.Child("name"), meta.GetName(), msg))
		}
	}
	if r.Namespaced && meta.GetNamespace() == "" {
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	}
	if !r.Namespaced && meta.GetNamespace() != "" {
		errs = append(errs, field.Forbidden(p.Child("namespace"), "not allowed on this type"))
	}
	errs = append(errs, validateLabels(meta.GetLabels(), p.Child("labels"))...)
	errs = append(errs, validateAnnotations(meta.GetAnnotations(), p.Child("annotations"))...)
	return errs
}

func validateLabels(labels map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, v := range labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(p, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(p.Key(k), v, msg))
		}
	}
	return errs
}

func validateAnnotations(annotations map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for k, v := range annotations {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(p, k, msg))
		}
		total += len(k) + len(v)
	}
	if total > maxAnnotationsBytes {
		errs = append(errs, field.TooLong(p, maxAnnotationsBytes))
	}
	return errs
}

// validateMetaUpdate checks what may not change in metadata.
func validateMetaUpdate(meta, old *metav1.ObjectMeta) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("metadata")
	if meta.GetName() != old.GetName() {
		errs = append(errs, field.Invalid(p.Child("name"), meta.GetName(), "field is immutable"))
	}
	if meta.GetNamespace() != old.GetNamespace() {
		errs = append(errs, field.Invalid(p.Child("namespace"), meta.GetNamespace(), "field is immutable"))
	}
	if meta.GetUid() != "" && meta.GetUid() != old.GetUid() {
		errs = append(errs, field.Invalid(p.Child("uid"), meta.GetUid(), "field is immutable"))
	}
	return errs
}

// validate runs the metadata and kind checks on a new object.
func (r *Resource) validate(obj proto.Message, meta *metav1.ObjectMeta) field.ErrorList {
	errs := r.validateMeta(meta)
	if r.Strategy.Validate != nil {
		errs = append(errs, r.Strategy.Validate(obj)...)
	}
	return errs
}
