package crdschema

import (
	"strings"

	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/json"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"

	"skiff.dev/services/apiserver/internal/field"
)

// validateEmbedded checks every x-kubernetes-embedded-resource value under
// x: apiVersion and kind present and well formed, metadata a valid
// ObjectMeta. The root object itself is the registry's business, so it is
// checked only when its schema says it is embedded.
func validateEmbedded(p *field.Path, x any, n *node) field.ErrorList {
	if n == nil {
		return nil
	}
	var errs field.ErrorList
	switch x := x.(type) {
	case map[string]any:
		if n.embedded {
			errs = append(errs, validateResource(p, x)...)
		}
		for k, v := range x {
			if sub, ok := n.properties[k]; ok {
				errs = append(errs, validateEmbedded(p.Child(k), v, sub)...)
			} else if n.hasAdditional {
				errs = append(errs, validateEmbedded(p.Key(k), v, n.additional)...)
			}
		}
	case []any:
		for i, v := range x {
			errs = append(errs, validateEmbedded(p.Index(i), v, n.items)...)
		}
	}
	return errs
}

func validateResource(p *field.Path, x map[string]any) field.ErrorList {
	var errs field.ErrorList
	if _, ok := x["apiVersion"]; !ok {
		errs = append(errs, field.Required(p.Child("apiVersion"), ""))
	}
	if _, ok := x["kind"]; !ok {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	}
	if v, ok := x["apiVersion"]; ok {
		vp := p.Child("apiVersion")
		s, isString := v.(string)
		switch {
		case !isString:
			errs = append(errs, field.Invalid(vp, badValue(v), "must be a string"))
		case s == "":
			errs = append(errs, field.Invalid(vp, s, "must not be empty"))
		default:
			if _, err := schema.ParseGroupVersion(s); err != nil {
				errs = append(errs, field.Invalid(vp, s, err.Error()))
			}
		}
	}
	if v, ok := x["kind"]; ok {
		kp := p.Child("kind")
		s, isString := v.(string)
		switch {
		case !isString:
			errs = append(errs, field.Invalid(kp, badValue(v), "must be a string"))
		case s == "":
			errs = append(errs, field.Invalid(kp, s, "must not be empty"))
		default:
			if msgs := utilvalidation.IsDNS1035Label(strings.ToLower(s)); len(msgs) > 0 {
				errs = append(errs, field.Invalid(kp, s, "may have mixed case, but should otherwise match: "+strings.Join(msgs, ",")))
			}
		}
	}
	if v, ok := x["metadata"]; ok {
		mp := p.Child("metadata")
		meta, err := decodeObjectMeta(v)
		if err != nil {
			return append(errs, field.Invalid(mp, badValue(v), err.Error()))
		}
		if meta.Name == "" {
			meta.Name = "fakename" // as Kubernetes: an embedded object needs no name
		}
		k8sPath := k8sfield.NewPath(mp.String())
		errs = append(errs, fromK8s(metavalidation.ValidateObjectMeta(meta, meta.Namespace != "", path.ValidatePathSegmentName, k8sPath))...)
	}
	return errs
}

// decodeObjectMeta reads an embedded resource's metadata leniently, as
// Kubernetes does to validate it.
func decodeObjectMeta(v any) (*metav1.ObjectMeta, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	meta := &metav1.ObjectMeta{}
	if err := json.Unmarshal(raw, meta); err != nil {
		return nil, err
	}
	return meta, nil
}

// fromK8s converts apimachinery's field errors, which share this
// repository's types and rendering.
func fromK8s(errs k8sfield.ErrorList) field.ErrorList {
	out := make(field.ErrorList, 0, len(errs))
	for _, e := range errs {
		out = append(out, &field.Error{Type: field.ErrorType(e.Type), Field: e.Field, BadValue: badValue(e.BadValue), Detail: e.Detail})
	}
	return out
}
