package escalation

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/proto"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// Storage reads roles and bindings from their backends at the moment of
// each check, as Kubernetes' RBAC storage does for its escalation checks:
// a role created a moment ago can be bound at once, where the authorizer's
// in-memory index may not have it yet. Role writes are rare, so the cost
// of a read per check does not matter.
type Storage struct {
	RoleStore, ClusterRoleStore, RoleBindingStore, ClusterRoleBindingStore registry.Backend
}

var _ rbac.Source = Storage{}

// ClusterRoleBindings lists every ClusterRoleBinding.
func (s Storage) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	return listAs[*rbacv1.ClusterRoleBinding](s.ClusterRoleBindingStore, "")
}

// RoleBindings lists the RoleBindings of a namespace.
func (s Storage) RoleBindings(namespace string) []*rbacv1.RoleBinding {
	return listAs[*rbacv1.RoleBinding](s.RoleBindingStore, namespace)
}

// ClusterRole reads a ClusterRole.
func (s Storage) ClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	return getAs[*rbacv1.ClusterRole](s.ClusterRoleStore, "", name)
}

// Role reads a Role.
func (s Storage) Role(namespace, name string) (*rbacv1.Role, bool) {
	return getAs[*rbacv1.Role](s.RoleStore, namespace, name)
}

func listAs[T proto.Message](b registry.Backend, namespace string) []T {
	list, err := b.List(context.Background(), namespace, registry.ListOptions{})
	if err != nil {
		slog.Warn("listing RBAC objects for an escalation check", "err", err)
		return nil
	}
	var out []T
	for _, it := range object.Items(list) {
		out = append(out, it.(T))
	}
	return out
}

func getAs[T proto.Message](b registry.Backend, namespace, name string) (T, bool) {
	var zero T
	obj, err := b.Get(context.Background(), namespace, name, registry.GetOptions{})
	if err != nil {
		return zero, false
	}
	return obj.(T), true
}
