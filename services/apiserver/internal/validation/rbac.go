package validation

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/validate/content"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// rbacGroup is the API group of roles and of User and Group subjects.
const rbacGroup = "rbac.authorization.k8s.io"

// RBACName checks the name of a role or a binding, or a role a binding
// names: any path segment, so "system:node" is one, as Kubernetes has it.
func RBACName(name string) []string {
	return content.IsPathSegmentName(name)
}

// ValidateRole checks a Role's rules, which, being namespaced, may not
// name non-resource URLs.
func ValidateRole(r *rbacv1.Role) field.ErrorList {
	return policyRules(r.GetRules(), true)
}

// ValidateClusterRole checks a new ClusterRole: its rules and its
// aggregation rule's selectors.
func ValidateClusterRole(r *rbacv1.ClusterRole) field.ErrorList {
	return clusterRole(r, false)
}

// ValidateClusterRoleUpdate checks a changed ClusterRole as a new one,
// except that selectors with label values Kubernetes no longer accepts
// may stay if the stored role already had such values.
func ValidateClusterRoleUpdate(r, old *rbacv1.ClusterRole) field.ErrorList {
	return clusterRole(r, invalidSelectorValues(old))
}

func clusterRole(r *rbacv1.ClusterRole, allowInvalidValues bool) field.ErrorList {
	errs := policyRules(r.GetRules(), false)
	agg := r.GetAggregationRule()
	if agg == nil {
		return errs
	}
	p := field.NewPath("aggregationRule", "clusterRoleSelectors")
	if len(agg.GetClusterRoleSelectors()) == 0 {
		errs = append(errs, field.Required(p, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
	}
	opts := metavalidation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidValues}
	for i, sel := range agg.GetClusterRoleSelectors() {
		k8sSel := toK8sSelector(sel)
		errs = append(errs, fromK8s(metavalidation.ValidateLabelSelector(k8sSel, opts, k8sPath(p.Index(i))))...)
		if _, err := k8smeta.LabelSelectorAsSelector(k8sSel); err != nil {
			// Kubernetes shows the selector it failed to build: null.
			errs = append(errs, field.Invalid(p.Index(i), jsonValue{nil}, "invalid label selector."))
		}
	}
	return errs
}

// invalidSelectorValues tells whether a stored role's aggregation rule has
// a selector with an invalid label value.
func invalidSelectorValues(r *rbacv1.ClusterRole) bool {
	for _, sel := range r.GetAggregationRule().GetClusterRoleSelectors() {
		if len(metavalidation.ValidateLabelSelector(toK8sSelector(sel), metavalidation.LabelSelectorValidationOptions{}, nil)) > 0 {
			return true
		}
	}
	return false
}

func policyRules(rules []*rbacv1.PolicyRule, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i, rule := range rules {
		errs = append(errs, policyRule(rule, namespaced, field.NewPath("rules").Index(i))...)
	}
	return errs
}

// policyRule: verbs, and either non-resource URLs (cluster roles only)
// or API groups and resources.
func policyRule(r *rbacv1.PolicyRule, namespaced bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.GetVerbs()) == 0 {
		errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
	}
	if urls := r.GetNonResourceUrls(); len(urls) > 0 {
		if namespaced {
			errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), jsonValue{urls}, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(r.GetApiGroups()) > 0 || len(r.GetResources()) > 0 || len(r.GetResourceNames()) > 0 {
			errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), jsonValue{urls}, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return errs
	}
	if len(r.GetApiGroups()) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(r.GetResources()) == 0 {
		errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
	}
	return errs
}

// ValidateRoleBinding checks a RoleBinding: a Role or ClusterRole of
// rbac.authorization.k8s.io, and its subjects (service accounts default to
// the binding's namespace).
func ValidateRoleBinding(rb *rbacv1.RoleBinding) field.ErrorList {
	errs := roleRef(rb.GetRoleRef(), []string{"Role", "ClusterRole"})
	return append(errs, subjects(rb.GetSubjects(), true)...)
}

// ValidateClusterRoleBinding checks a ClusterRoleBinding: a ClusterRole,
// and its subjects (service accounts with their namespace).
func ValidateClusterRoleBinding(crb *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := roleRef(crb.GetRoleRef(), []string{"ClusterRole"})
	return append(errs, subjects(crb.GetSubjects(), false)...)
}

// ValidateRoleBindingUpdate keeps the role a binding grants.
func ValidateRoleBindingUpdate(rb, old *rbacv1.RoleBinding) field.ErrorList {
	return roleRefUnchanged(rb.GetRoleRef(), old.GetRoleRef())
}

// ValidateClusterRoleBindingUpdate keeps the role a binding grants.
func ValidateClusterRoleBindingUpdate(crb, old *rbacv1.ClusterRoleBinding) field.ErrorList {
	return roleRefUnchanged(crb.GetRoleRef(), old.GetRoleRef())
}

func roleRef(ref *rbacv1.RoleRef, kinds []string) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("roleRef")
	if g := ref.GetApiGroup(); g != rbacGroup {
		errs = append(errs, field.NotSupported(p.Child("apiGroup"), g, []string{rbacGroup}))
	}
	if !slices.Contains(kinds, ref.GetKind()) {
		errs = append(errs, field.NotSupported(p.Child("kind"), ref.GetKind(), kinds))
	}
	if name := ref.GetName(); name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, invalid(p.Child("name"), name, RBACName(name))...)
	}
	return errs
}

// roleRefUnchanged shows the role reference as Kubernetes does, its
// internal struct in JSON.
func roleRefUnchanged(ref, old *rbacv1.RoleRef) field.ErrorList {
	if ref.GetApiGroup() == old.GetApiGroup() && ref.GetKind() == old.GetKind() && ref.GetName() == old.GetName() {
		return nil
	}
	shown := struct{ APIGroup, Kind, Name string }{ref.GetApiGroup(), ref.GetKind(), ref.GetName()}
	return field.ErrorList{field.Invalid(field.NewPath("roleRef"), jsonValue{shown}, "cannot change roleRef")}
}

func subjects(list []*rbacv1.Subject, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i, s := range list {
		errs = append(errs, subject(s, namespaced, field.NewPath("subjects").Index(i))...)
	}
	return errs
}

// subject: a named ServiceAccount of the core group (with a namespace in
// a cluster binding), or a named User or Group of rbac.authorization.k8s.io.
func subject(s *rbacv1.Subject, namespaced bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	name := s.GetName()
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	switch s.GetKind() {
	case "ServiceAccount":
		if name != "" {
			errs = append(errs, invalid(p.Child("name"), name, validation.IsDNS1123Subdomain(name))...)
		}
		if g := s.GetApiGroup(); g != "" {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), g, []string{""}))
		}
		if !namespaced && s.GetNamespace() == "" {
			errs = append(errs, field.Required(p.Child("namespace"), ""))
		}
	case "User", "Group":
		if g := s.GetApiGroup(); g != rbacGroup {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), g, []string{rbacGroup}))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("kind"), s.GetKind(), []string{"ServiceAccount", "User", "Group"}))
	}
	return errs
}
