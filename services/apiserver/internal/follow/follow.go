// Package follow keeps an in-memory copy of one resource in step with the
// server's own storage: it lists the resource through its registry
// backend, hands every object to a callback, follows the watch from the
// list's resourceVersion, and lists again whenever the watch ends (telling
// the callbacks about objects that went while no watch was open). It is
// how parts of the apiserver that must answer at request speed (the RBAC
// and Node authorizers, bootstrap tokens, admission webhooks and quotas)
// read other resources without an etcd read per request. A follower may be
// narrowed to one namespace and by selectors.
package follow

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// Follower mirrors one resource into its callbacks.
type Follower struct {
	Backend registry.Backend
	// Namespace narrows the objects followed to one namespace ("" is all),
	// and Selection by label and field selectors.
	Namespace string
	Selection registry.ListOptions
	// Set is told about an object that was added or changed.
	Set func(obj proto.Message)
	// Remove is told about an object that went.
	Remove func(namespace, name string)

	// names are the keys seen last, so a relist can remove the objects
	// deleted while no watch was open.
	names map[string]bool
}

// List replaces what the callbacks know with a fresh list and returns its
// resourceVersion, for Run to follow from.
func (f *Follower) List(ctx context.Context) (string, error) {
	opts := f.Selection
	opts.ResourceVersion = ""
	list, err := f.Backend.List(ctx, f.Namespace, opts)
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for _, obj := range object.Items(list) {
		seen[key(obj)] = true
		f.Set(obj)
	}
	for k := range f.names {
		if !seen[k] {
			ns, name, _ := strings.Cut(k, "/")
			f.Remove(ns, name)
		}
	}
	f.names = seen
	return object.ListMeta(list).GetResourceVersion(), nil
}

// Run follows the watch from rev until ctx ends, listing again when it
// ends.
func (f *Follower) Run(ctx context.Context, rev string) {
	for ctx.Err() == nil {
		if err := f.watch(ctx, rev); err != nil && ctx.Err() == nil {
			slog.Warn("following a resource; listing again", "err", err)
			if !sleep(ctx) {
				return
			}
		}
		var err error
		for rev, err = f.List(ctx); err != nil && ctx.Err() == nil; rev, err = f.List(ctx) {
			slog.Warn("listing a followed resource", "err", err)
			if !sleep(ctx) {
				return
			}
		}
	}
}

func sleep(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Second):
		return true
	}
}

// watch applies the events of one watch until it ends.
func (f *Follower) watch(ctx context.Context, rev string) error {
	opts := f.Selection
	opts.ResourceVersion = rev
	w, err := f.Backend.Watch(ctx, f.Namespace, opts)
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
				f.Set(ev.Object)
			case registry.Deleted:
				delete(f.names, key(ev.Object))
				m := object.Meta(ev.Object)
				f.Remove(m.GetNamespace(), m.GetName())
			}
		}
	}
}

func key(obj proto.Message) string {
	m := object.Meta(obj)
	return m.GetNamespace() + "/" + m.GetName()
}
