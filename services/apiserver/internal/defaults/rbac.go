package defaults

import (
	rbacv1 "skiff.dev/api/rbac/v1"
)

// rbacGroup is the API group of roles, of the Users and Groups bindings
// name, and the default of a binding's roleRef.apiGroup.
const rbacGroup = "rbac.authorization.k8s.io"

// RoleBinding: the roleRef's API group and the subjects' API groups, as
// rbac/v1 defaults them.
func RoleBinding(rb *rbacv1.RoleBinding) {
	rb.RoleRef = roleRef(rb.RoleRef)
	subjects(rb.Subjects)
}

// ClusterRoleBinding: as RoleBinding.
func ClusterRoleBinding(crb *rbacv1.ClusterRoleBinding) {
	crb.RoleRef = roleRef(crb.RoleRef)
	subjects(crb.Subjects)
}

// roleRef defaults the API group to rbac.authorization.k8s.io. Kubernetes'
// roleRef is a struct, never absent, so an absent one comes back holding
// just that group.
func roleRef(ref *rbacv1.RoleRef) *rbacv1.RoleRef {
	if ref == nil {
		ref = &rbacv1.RoleRef{}
	}
	if ref.ApiGroup == "" {
		ref.ApiGroup = rbacGroup
	}
	return ref
}

// subjects: a User's or a Group's API group is rbac.authorization.k8s.io
// when unset; a ServiceAccount's stays the core group; other kinds are
// left for validation to refuse.
func subjects(list []*rbacv1.Subject) {
	for _, s := range list {
		if s == nil || s.ApiGroup != "" {
			continue
		}
		switch s.Kind {
		case "User", "Group":
			s.ApiGroup = rbacGroup
		}
	}
}
