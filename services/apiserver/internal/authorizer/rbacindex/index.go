// Package rbacindex keeps the cluster's roles and bindings in memory, as the
// RBAC authorizer's Source: it follows the four rbac.authorization.k8s.io
// kinds through their registry backends (package follow). Readers get slices that are never changed
// after they are handed out (a change replaces them), so an authorization
// costs no copy and no lock held across the rules' evaluation.
//
// Until Start returns, the index is empty: a server must not authorize by
// it before then.
package rbacindex

import (
	"context"
	"sync"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
	"skiff.dev/services/apiserver/internal/follow"
	"skiff.dev/services/apiserver/internal/registry"
)

// Backends are the four kinds' backends the index follows.
type Backends struct {
	Roles, ClusterRoles, RoleBindings, ClusterRoleBindings registry.Backend
}

// Index is the in-memory copy of the roles and bindings.
type Index struct {
	mu                  sync.RWMutex
	roles               map[string]map[string]*rbacv1.Role // namespace → name
	clusterRoles        map[string]*rbacv1.ClusterRole
	roleBindings        map[string]map[string]*rbacv1.RoleBinding // namespace → name
	clusterRoleBindings map[string]*rbacv1.ClusterRoleBinding
	// The binding slices readers get, rebuilt on change, sorted by name.
	roleBindingList        map[string][]*rbacv1.RoleBinding
	clusterRoleBindingList []*rbacv1.ClusterRoleBinding

	done chan struct{}
}

var _ rbac.Source = (*Index)(nil)

// New returns an empty index.
func New() *Index {
	return &Index{
		roles:               map[string]map[string]*rbacv1.Role{},
		clusterRoles:        map[string]*rbacv1.ClusterRole{},
		roleBindings:        map[string]map[string]*rbacv1.RoleBinding{},
		clusterRoleBindings: map[string]*rbacv1.ClusterRoleBinding{},
		roleBindingList:     map[string][]*rbacv1.RoleBinding{},
		done:                make(chan struct{}),
	}
}

// Start lists the four kinds, then follows them until ctx ends. It returns
// once the first lists are in, or with the error of a list that failed.
func (x *Index) Start(ctx context.Context, b Backends) error {
	kinds := []*follow.Follower{
		{Backend: b.Roles, Set: x.setRole, Remove: x.removeRole},
		{Backend: b.ClusterRoles, Set: x.setClusterRole, Remove: x.removeClusterRole},
		{Backend: b.RoleBindings, Set: x.setRoleBinding, Remove: x.removeRoleBinding},
		{Backend: b.ClusterRoleBindings, Set: x.setClusterRoleBinding, Remove: x.removeClusterRoleBinding},
	}
	revs := make([]string, len(kinds))
	for i, f := range kinds {
		rev, err := f.List(ctx)
		if err != nil {
			return err
		}
		revs[i] = rev
	}
	var wg sync.WaitGroup
	for i, f := range kinds {
		wg.Go(func() { f.Run(ctx, revs[i]) })
	}
	go func() {
		wg.Wait()
		close(x.done)
	}()
	return nil
}

// Done is closed when the followers have stopped, after ctx ended.
func (x *Index) Done() <-chan struct{} { return x.done }

// ClusterRoleBindings returns every ClusterRoleBinding, by name.
func (x *Index) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.clusterRoleBindingList
}

// RoleBindings returns the RoleBindings of a namespace, by name.
func (x *Index) RoleBindings(namespace string) []*rbacv1.RoleBinding {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.roleBindingList[namespace]
}

// ClusterRole returns a ClusterRole by name.
func (x *Index) ClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.clusterRoles[name]
	return r, ok
}

// Role returns a Role by namespace and name.
func (x *Index) Role(namespace, name string) (*rbacv1.Role, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.roles[namespace][name]
	return r, ok
}
