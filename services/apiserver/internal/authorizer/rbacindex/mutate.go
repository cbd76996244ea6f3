package rbacindex

import (
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	rbacv1 "skiff.dev/api/rbac/v1"
)

// The setters and removers change the index under its lock. Objects are
// stored as the backend handed them out, which never changes them
// afterwards.

func (x *Index) setRole(obj proto.Message) {
	r := obj.(*rbacv1.Role)
	x.mu.Lock()
	defer x.mu.Unlock()
	setIn(x.roles, r.GetMetadata().GetNamespace(), r.GetMetadata().GetName(), r)
}

func (x *Index) removeRole(namespace, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	removeIn(x.roles, namespace, name)
}

func (x *Index) setClusterRole(obj proto.Message) {
	r := obj.(*rbacv1.ClusterRole)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.clusterRoles[r.GetMetadata().GetName()] = r
}

func (x *Index) removeClusterRole(_, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.clusterRoles, name)
}

func (x *Index) setRoleBinding(obj proto.Message) {
	b := obj.(*rbacv1.RoleBinding)
	ns := b.GetMetadata().GetNamespace()
	x.mu.Lock()
	defer x.mu.Unlock()
	setIn(x.roleBindings, ns, b.GetMetadata().GetName(), b)
	x.roleBindingList[ns] = byName(x.roleBindings[ns])
}

func (x *Index) removeRoleBinding(namespace, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	removeIn(x.roleBindings, namespace, name)
	if list := byName(x.roleBindings[namespace]); len(list) > 0 {
		x.roleBindingList[namespace] = list
	} else {
		delete(x.roleBindingList, namespace)
	}
}

func (x *Index) setClusterRoleBinding(obj proto.Message) {
	b := obj.(*rbacv1.ClusterRoleBinding)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.clusterRoleBindings[b.GetMetadata().GetName()] = b
	x.clusterRoleBindingList = byName(x.clusterRoleBindings)
}

func (x *Index) removeClusterRoleBinding(_, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.clusterRoleBindings, name)
	x.clusterRoleBindingList = byName(x.clusterRoleBindings)
}

func setIn[T any](m map[string]map[string]T, ns, name string, v T) {
	if m[ns] == nil {
		m[ns] = map[string]T{}
	}
	m[ns][name] = v
}

func removeIn[T any](m map[string]map[string]T, ns, name string) {
	delete(m[ns], name)
	if len(m[ns]) == 0 {
		delete(m, ns)
	}
}

// byName is a new slice of the map's values, ordered by key.
func byName[T any](m map[string]T) []T {
	keys := slices.SortedFunc(maps.Keys(m), strings.Compare)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
