package rbac

import (
	"fmt"

	rbacv1 "skiff.dev/api/rbac/v1"
)

// serviceAccountPrefix begins the user name of every service account:
// system:serviceaccount:NAMESPACE:NAME.
const serviceAccountPrefix = "system:serviceaccount:"

// appliesTo returns the first of subjects that names the user, or nil.
// bindingNamespace is the namespace of a RoleBinding, which a ServiceAccount
// subject without a namespace of its own is in; it is empty for a
// ClusterRoleBinding, where such a subject matches no one.
func appliesTo(user string, groups []string, subjects []*rbacv1.Subject, bindingNamespace string) *rbacv1.Subject {
	for _, s := range subjects {
		if subjectMatches(user, groups, s, bindingNamespace) {
			return s
		}
	}
	return nil
}

func subjectMatches(user string, groups []string, s *rbacv1.Subject, bindingNamespace string) bool {
	switch s.GetKind() {
	case "User":
		return user == s.GetName()
	case "Group":
		for _, g := range groups {
			if g == s.GetName() {
				return true
			}
		}
		return false
	case "ServiceAccount":
		ns := s.GetNamespace()
		if ns == "" {
			ns = bindingNamespace
		}
		if ns == "" {
			return false
		}
		return user == serviceAccountPrefix+ns+":"+s.GetName()
	default:
		return false
	}
}

// grant is one binding of a role to a subject, named in the reason of an
// allowed request.
type grant struct {
	clusterScoped bool
	binding       string
	namespace     string // of a RoleBinding
	roleRef       *rbacv1.RoleRef
	subject       *rbacv1.Subject
}

// String describes the grant as Kubernetes does: `ClusterRoleBinding "b" of
// ClusterRole "r" to Group "g"`, or `RoleBinding "b/ns" of Role "r" to
// ServiceAccount "sa/ns"` (a service account is written name/namespace).
func (g grant) String() string {
	kind, name := "ClusterRoleBinding", g.binding
	if !g.clusterScoped {
		kind, name = "RoleBinding", g.binding+"/"+g.namespace
	}
	return fmt.Sprintf("%s %q of %s %q to %s", kind, name, g.roleRef.GetKind(), g.roleRef.GetName(), describeSubject(g.subject, g.namespace))
}

func describeSubject(s *rbacv1.Subject, bindingNamespace string) string {
	if s.GetKind() != "ServiceAccount" {
		return fmt.Sprintf("%s %q", s.GetKind(), s.GetName())
	}
	ns := s.GetNamespace()
	if ns == "" {
		ns = bindingNamespace
	}
	return fmt.Sprintf("%s %q", s.GetKind(), s.GetName()+"/"+ns)
}
