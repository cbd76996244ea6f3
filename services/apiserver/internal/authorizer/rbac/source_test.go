package rbac

import (
	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
)

// staticSource is a Source over fixed lists, in the order given.
type staticSource struct {
	clusterRoles        []*rbacv1.ClusterRole
	roles               []*rbacv1.Role
	clusterRoleBindings []*rbacv1.ClusterRoleBinding
	roleBindings        []*rbacv1.RoleBinding
}

var _ Source = (*staticSource)(nil)

func (s *staticSource) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	return s.clusterRoleBindings
}

func (s *staticSource) RoleBindings(namespace string) []*rbacv1.RoleBinding {
	var out []*rbacv1.RoleBinding
	for _, b := range s.roleBindings {
		if b.GetMetadata().GetNamespace() == namespace {
			out = append(out, b)
		}
	}
	return out
}

func (s *staticSource) ClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	for _, r := range s.clusterRoles {
		if r.GetMetadata().GetName() == name {
			return r, true
		}
	}
	return nil, false
}

func (s *staticSource) Role(namespace, name string) (*rbacv1.Role, bool) {
	for _, r := range s.roles {
		if r.GetMetadata().GetNamespace() == namespace && r.GetMetadata().GetName() == name {
			return r, true
		}
	}
	return nil, false
}

func clusterRole(name string, rules ...*rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: name}, Rules: rules}
}

func role(namespace, name string, rules ...*rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{Metadata: &metav1.ObjectMeta{Namespace: namespace, Name: name}, Rules: rules}
}

func clusterRoleBinding(name, roleName string, subjects ...*rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		Metadata: &metav1.ObjectMeta{Name: name},
		RoleRef:  &rbacv1.RoleRef{ApiGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: roleName},
		Subjects: subjects,
	}
}

func roleBinding(namespace, name, roleKind, roleName string, subjects ...*rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		Metadata: &metav1.ObjectMeta{Namespace: namespace, Name: name},
		RoleRef:  &rbacv1.RoleRef{ApiGroup: "rbac.authorization.k8s.io", Kind: roleKind, Name: roleName},
		Subjects: subjects,
	}
}

func user(name string) *rbacv1.Subject {
	return &rbacv1.Subject{Kind: "User", ApiGroup: "rbac.authorization.k8s.io", Name: name}
}

func group(name string) *rbacv1.Subject {
	return &rbacv1.Subject{Kind: "Group", ApiGroup: "rbac.authorization.k8s.io", Name: name}
}

func serviceAccount(namespace, name string) *rbacv1.Subject {
	return &rbacv1.Subject{Kind: "ServiceAccount", Namespace: namespace, Name: name}
}

// rule builds a resource rule: verbs, groups, resources, then names.
func rule(verbs, groups, resources []string, names ...string) *rbacv1.PolicyRule {
	return &rbacv1.PolicyRule{Verbs: verbs, ApiGroups: groups, Resources: resources, ResourceNames: names}
}

func urlRule(verbs []string, urls ...string) *rbacv1.PolicyRule {
	return &rbacv1.PolicyRule{Verbs: verbs, NonResourceUrls: urls}
}

func l(s ...string) []string { return s }
