// Package validation checks objects the way Kubernetes validation does and
// reports what is wrong as field errors with Kubernetes' paths, types and
// messages. Metadata is checked by the registry; these functions check the
// rest of each kind. Update checks report only what may not change: the
// registry validates the new object on its own as well.
package validation

import (
	"fmt"
	"maps"
	"slices"

	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"

	"skiff.dev/services/apiserver/internal/field"
)

// invalid turns the messages of an apimachinery check into errors.
func invalid(p *field.Path, value any, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, m := range msgs {
		errs = append(errs, field.Invalid(p, value, m))
	}
	return errs
}

// k8sPath is p as an apimachinery path, for the apimachinery checks that
// build their own errors.
func k8sPath(p *field.Path) *k8sfield.Path {
	return k8sfield.NewPath(p.String())
}

// fromK8s converts apimachinery field errors; the error types share their
// values.
func fromK8s(list k8sfield.ErrorList) field.ErrorList {
	var errs field.ErrorList
	for _, e := range list {
		errs = append(errs, &field.Error{Type: field.ErrorType(e.Type), Field: e.Field, BadValue: e.BadValue, Detail: e.Detail})
	}
	return errs
}

// labels checks a label map (keys and values report at the map's path).
func labels(m map[string]string, p *field.Path) field.ErrorList {
	return fromK8s(metavalidation.ValidateLabels(m, k8sPath(p)))
}

// labelName checks one label key.
func labelName(k string, p *field.Path) field.ErrorList {
	return fromK8s(metavalidation.ValidateLabelName(k, k8sPath(p)))
}

func nonNegative(v int64, p *field.Path) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(p, v, "must be greater than or equal to 0")}
	}
	return nil
}

// oneOf reports a value outside the supported ones; empty is Required.
func oneOf(v string, supported []string, p *field.Path) field.ErrorList {
	switch {
	case v == "":
		return field.ErrorList{field.Required(p, "")}
	case !slices.Contains(supported, v):
		return field.ErrorList{field.NotSupported(p, v, supported)}
	}
	return nil
}

// immutable reports a changed field.
func immutable(p *field.Path, value any) *field.Error {
	return field.Invalid(p, value, "field is immutable")
}

func tooLongChars(p *field.Path, n int) *field.Error {
	return field.Invalid(p, "", fmt.Sprintf("can have at most %d characters", n))
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
