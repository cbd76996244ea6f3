package kinds

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"
	k8smetav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"

	authorizationv1 "skiff.dev/api/authorization/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/field"
)

// The access reviews are validated as Kubernetes validates them, with its
// paths and messages. A bad value that is not a string or a number is shown
// as Kubernetes shows it, as JSON: null for an absent attribute set, and
// the non-resource attributes by the field names of Kubernetes' internal
// type, which has no JSON names ({"Path":"/x","Verb":"get"}).

// shown is a bad value already rendered.
type shown string

func (s shown) String() string { return string(s) }

var absent = shown("null")

func showNonResource(nra *authorizationv1.NonResourceAttributes) shown {
	if nra == nil {
		return absent
	}
	b, _ := json.Marshal(struct{ Path, Verb string }{nra.GetPath(), nra.GetVerb()})
	return shown(b)
}

func showMeta(m *metav1.ObjectMeta) shown {
	b, err := kjson.Marshal(m)
	if err != nil {
		return shown(fmt.Sprint(m))
	}
	return shown(b)
}

// validateSelfSubjectAccessReviewSpec: the attribute sets and the
// selectors.
func validateSelfSubjectAccessReviewSpec(spec *authorizationv1.SelfSubjectAccessReviewSpec) field.ErrorList {
	errs := exactlyOne(spec.GetResourceAttributes(), spec.GetNonResourceAttributes())
	return append(errs, validateSelectors(spec.GetResourceAttributes())...)
}

// validateSubjectAccessReviewSpec: the attribute sets, someone to ask
// about, and the selectors, in Kubernetes' order.
func validateSubjectAccessReviewSpec(spec *authorizationv1.SubjectAccessReviewSpec) field.ErrorList {
	errs := exactlyOne(spec.GetResourceAttributes(), spec.GetNonResourceAttributes())
	if spec.GetUser() == "" && len(spec.GetGroups()) == 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "user"), spec.GetUser(), "at least one of user or group must be specified"))
	}
	return append(errs, validateSelectors(spec.GetResourceAttributes())...)
}

// exactlyOne: a review asks about a resource request or a non-resource
// one.
func exactlyOne(ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if ra != nil && nra != nil {
		errs = append(errs, field.Invalid(spec.Child("nonResourceAttributes"), showNonResource(nra), "cannot be specified in combination with resourceAttributes"))
	}
	if ra == nil && nra == nil {
		errs = append(errs, field.Invalid(spec.Child("resourceAttributes"), absent, "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
	}
	return errs
}

// validateSelectors: selectors that say what they select.
func validateSelectors(ra *authorizationv1.ResourceAttributes) field.ErrorList {
	if ra == nil {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "resourceAttributes")
	if sel := ra.GetFieldSelector(); sel != nil {
		sp := p.Child("fieldSelector")
		errs = append(errs, selectorShape(sel.GetRawSelector(), len(sel.GetRequirements()), sp)...)
		for i, r := range sel.GetRequirements() {
			req := k8smetav1.FieldSelectorRequirement{Key: r.GetKey(), Operator: k8smetav1.FieldSelectorOperator(r.GetOperator()), Values: r.GetValues()}
			errs = append(errs, fromApimachinery(metavalidation.ValidateFieldSelectorRequirement(req,
				metavalidation.FieldSelectorValidationOptions{AllowUnknownOperatorInRequirement: true},
				k8sfield.NewPath(sp.Child("requirements").Index(i).String())))...)
		}
	}
	if sel := ra.GetLabelSelector(); sel != nil {
		sp := p.Child("labelSelector")
		errs = append(errs, selectorShape(sel.GetRawSelector(), len(sel.GetRequirements()), sp)...)
		for i, r := range sel.GetRequirements() {
			req := k8smetav1.LabelSelectorRequirement{Key: r.GetKey(), Operator: k8smetav1.LabelSelectorOperator(r.GetOperator()), Values: r.GetValues()}
			errs = append(errs, fromApimachinery(metavalidation.ValidateLabelSelectorRequirement(req,
				metavalidation.LabelSelectorValidationOptions{AllowUnknownOperatorInRequirement: true},
				k8sfield.NewPath(sp.Child("requirements").Index(i).String())))...)
		}
	}
	return errs
}

// selectorShape: a selector is raw or parsed requirements, one of them.
func selectorShape(raw string, requirements int, p *field.Path) field.ErrorList {
	switch {
	case raw != "" && requirements > 0:
		return field.ErrorList{field.Invalid(p.Child("rawSelector"), raw, "may not specified at the same time as requirements")}
	case raw == "" && requirements == 0:
		return field.ErrorList{field.Required(p.Child("requirements"), fmt.Sprintf("when %s is specified, requirements or rawSelector is required", p))}
	}
	return nil
}

func fromApimachinery(list k8sfield.ErrorList) field.ErrorList {
	var errs field.ErrorList
	for _, e := range list {
		value := e.BadValue
		if s, ok := value.(fmt.Stringer); ok { // a named operator type
			value = s.String()
		}
		errs = append(errs, &field.Error{Type: field.ErrorType(e.Type), Field: e.Field, BadValue: value, Detail: e.Detail})
	}
	return errs
}

// metadataEmpty: a review's metadata must be empty (but for its namespace
// when it is namespaced); managed fields are not looked at.
func metadataEmpty(m *metav1.ObjectMeta, namespaced bool) field.ErrorList {
	rest := proto.Clone(m).(*metav1.ObjectMeta)
	if rest == nil {
		return nil
	}
	rest.ManagedFields = nil
	detail := "must be empty"
	if namespaced {
		rest.Namespace = ""
		detail = "must be empty except for namespace"
	}
	if proto.Size(rest) == 0 {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("metadata"), showMeta(m), detail)}
}

// validateLocal: a LocalSubjectAccessReview is about resources of its own
// namespace only.
func validateLocal(spec *authorizationv1.SubjectAccessReviewSpec, namespace string) field.ErrorList {
	var errs field.ErrorList
	if ra := spec.GetResourceAttributes(); ra != nil && ra.GetNamespace() != namespace {
		errs = append(errs, field.Invalid(field.NewPath("spec", "resourceAttributes", "namespace"), ra.GetNamespace(), "must match metadata.namespace"))
	}
	if nra := spec.GetNonResourceAttributes(); nra != nil {
		errs = append(errs, field.Invalid(field.NewPath("spec", "nonResourceAttributes"), showNonResource(nra), "disallowed on this kind of request"))
	}
	return errs
}
