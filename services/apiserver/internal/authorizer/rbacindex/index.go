// Package rbacindex keeps the cluster's roles and bindings in memory, as the
// RBAC authorizer's Source: it lists the four rbac.authorization.k8s.io
// kinds through their registry backends, follows their watches, and lists
// again whenever a watch ends. Readers get slices that are never changed
// after they are handed out (a change replaces them), so an authorization
// costs no copy and no lock held across the rules' evaluation.
//
// Until Start returns, the index is empty: a server must not authorize by
// it before then.
package rbacindex

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
	"skiff.dev/services/apiserver/internal/object"
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
	kinds := []*follower{
		{backend: b.Roles, set: x.setRole, remove: x.removeRole},
		{backend: b.ClusterRoles, set: x.setClusterRole, remove: x.removeClusterRole},
		{backend: b.RoleBindings, set: x.setRoleBinding, remove: x.removeRoleBinding},
		{backend: b.ClusterRoleBindings, set: x.setClusterRoleBinding, remove: x.removeClusterRoleBinding},
	}
	revs := make([]string, len(kinds))
	for i, f := range kinds {
		rev, err := f.list(ctx)
		if err != nil {
			return err
		}
		revs[i] = rev
	}
	var wg sync.WaitGroup
	for i, f := range kinds {
		wg.Go(func() { f.run(ctx, revs[i]) })
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

// follower keeps one kind's objects in the index.
type follower struct {
	backend registry.Backend
	// set stores an object; remove forgets one.
	set    func(obj proto.Message)
	remove func(namespace, name string)
	// names are the keys listed last, so a relist can remove the objects
	// deleted while no watch was open.
	names map[string]bool
}

// list replaces the kind's objects with a fresh list and returns its
// resourceVersion.
func (f *follower) list(ctx context.Context) (string, error) {
	list, err := f.backend.List(ctx, "", registry.ListOptions{})
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for _, obj := range object.Items(list) {
		seen[key(obj)] = true
		f.set(obj)
	}
	for k := range f.names {
		if !seen[k] {
			ns, name, _ := strings.Cut(k, "/")
			f.remove(ns, name)
		}
	}
	f.names = seen
	return object.ListMeta(list).GetResourceVersion(), nil
}

// run follows the kind's watch from rev, listing again when it ends.
func (f *follower) run(ctx context.Context, rev string) {
	for ctx.Err() == nil {
		if err := f.watch(ctx, rev); err != nil && ctx.Err() == nil {
			slog.Warn("following RBAC objects; listing again", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		var err error
		for rev, err = f.list(ctx); err != nil && ctx.Err() == nil; rev, err = f.list(ctx) {
			slog.Warn("listing RBAC objects", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// watch applies the events of one watch until it ends.
func (f *follower) watch(ctx context.Context, rev string) error {
	w, err := f.backend.Watch(ctx, "", registry.ListOptions{ResourceVersion: rev})
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == registry.Error {
				return nil
			}
			switch ev.Type {
			case registry.Added, registry.Modified:
				f.names[key(ev.Object)] = true
				f.set(ev.Object)
			case registry.Deleted:
				delete(f.names, key(ev.Object))
				m := object.Meta(ev.Object)
				f.remove(m.GetNamespace(), m.GetName())
			}
		}
	}
}

func key(obj proto.Message) string {
	m := object.Meta(obj)
	return m.GetNamespace() + "/" + m.GetName()
}
