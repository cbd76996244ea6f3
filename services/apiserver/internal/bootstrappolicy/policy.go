// Package bootstrappolicy is Kubernetes' bootstrap RBAC policy and the
// reconciler that keeps it in the cluster, as kube-apiserver's
// "rbac/bootstrap-roles" post-start hook does.
//
// Default returns the policy of Kubernetes 1.34 with its default feature
// gates: the user-facing ClusterRoles (cluster-admin and the aggregated
// admin, edit and view), the system: roles of the control plane's
// components, the system:controller: roles of kube-controller-manager's
// controllers, the Roles of kube-system and kube-public, and the bindings
// that grant them; plus a role for Skiff's cloud-controller, one for the
// proxy's NetworkPolicy enforcement (skiff:node-network-policy), and a
// binding of system:auth-delegator for the components whose roles lack it. Every
// object carries the label kubernetes.io/bootstrapping=rbac-defaults and
// the annotation rbac.authorization.kubernetes.io/autoupdate=true.
//
// Reconcile writes it through the registry backends when the apiserver
// starts: a missing object is created; an existing one gets what it lacks
// (rules, aggregation selectors, subjects, labels, annotations) and keeps
// whatever was added to it, unless its autoupdate annotation is "false";
// a binding whose roleRef differs is deleted and created again.
package bootstrappolicy

import (
	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
)

// The metadata every bootstrap object carries.
const (
	// LabelBootstrapping marks the objects of the policy, with the value
	// BootstrappingValue.
	LabelBootstrapping = "kubernetes.io/bootstrapping"
	BootstrappingValue = "rbac-defaults"
	// AnnotationAutoUpdate set to "false" on an existing object keeps the
	// reconciler from changing it.
	AnnotationAutoUpdate = "rbac.authorization.kubernetes.io/autoupdate"
)

// Policy is a set of RBAC objects to keep in the cluster.
type Policy struct {
	ClusterRoles        []*rbacv1.ClusterRole
	ClusterRoleBindings []*rbacv1.ClusterRoleBinding
	// Roles and RoleBindings name their namespace.
	Roles        []*rbacv1.Role
	RoleBindings []*rbacv1.RoleBinding
}

// Default is Kubernetes' bootstrap policy with Skiff's additions, freshly
// built: the caller may change it.
func Default() Policy {
	p := Policy{
		ClusterRoles:        append(clusterRoles(), cloudControllerRole(), networkPolicyRole()),
		ClusterRoleBindings: append(clusterRoleBindings(), cloudControllerBinding(), authDelegatorBinding(), networkPolicyBinding()),
		Roles:               namespacedRoles(),
		RoleBindings:        namespacedRoleBindings(),
	}
	for _, c := range controllerRoles() {
		p.ClusterRoles = append(p.ClusterRoles, c)
		p.ClusterRoleBindings = append(p.ClusterRoleBindings, controllerBinding(c.GetMetadata().GetName()))
	}
	for _, c := range p.ClusterRoles {
		addDefaultMetadata(c.GetMetadata())
	}
	for _, b := range p.ClusterRoleBindings {
		addDefaultMetadata(b.GetMetadata())
	}
	for _, r := range p.Roles {
		addDefaultMetadata(r.GetMetadata())
	}
	for _, b := range p.RoleBindings {
		addDefaultMetadata(b.GetMetadata())
	}
	return p
}

func addDefaultMetadata(m *metav1.ObjectMeta) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[LabelBootstrapping] = BootstrappingValue
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[AnnotationAutoUpdate] = "true"
}

// meta is the metadata of a cluster-scoped object with the given labels
// (key, value, key, value ...).
func meta(name string, labels ...string) *metav1.ObjectMeta {
	m := &metav1.ObjectMeta{Name: name}
	if len(labels) > 0 {
		m.Labels = map[string]string{}
		for i := 0; i+1 < len(labels); i += 2 {
			m.Labels[labels[i]] = labels[i+1]
		}
	}
	return m
}

// nsMeta is the metadata of a namespaced object.
func nsMeta(namespace, name string) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Namespace: namespace, Name: name}
}
