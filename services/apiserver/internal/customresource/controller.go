// Package customresource serves the resources CustomResourceDefinitions
// declare. Its controller runs in every apiserver: it follows the
// definitions, decides their names and conditions as Kubernetes'
// apiextensions controllers do, and adds each established definition's
// served versions to the catalog, backed by one etcd store per definition
// (objects as JSON under /registry/<group>/<plural>/). A deleted
// definition's objects are deleted before the definition goes.
package customresource

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/crdnames"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/storage"
)

// Controller serves the custom resources of the definitions it follows.
type Controller struct {
	CRDs           registry.Backend // the customresourcedefinitions resource
	Catalog        *catalog.Catalog
	Etcd           *clientv3.Client
	WatchCacheSize int
	// NamespaceCheck refuses objects in missing or terminating namespaces.
	NamespaceCheck registry.NamespaceCheck
	// Admission is the admission chain the custom resources' writes go
	// through, as the built-in kinds' do; nil admits every write.
	Admission registry.Admission
	NewSchema NewSchema
	// Builtin are the built-in resources' names, which no definition may
	// take in their groups.
	Builtin []crdnames.Names
	// Transformer, when set, gives a custom resource's values their
	// encryption at rest (by group and plural).
	Transformer func(group, resource string) storage.Transformer
	// Retry is how soon a definition whose objects are not all gone is
	// looked at again; a second when zero.
	Retry time.Duration

	installed map[string]*installed // by definition name
}

// Run follows the definitions until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.installed = map[string]*installed{}
	defer c.uninstallAll()
	for ctx.Err() == nil {
		if err := c.follow(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("following CustomResourceDefinitions; starting again", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// follow lists the definitions, reconciles them, and reconciles again at
// every change until the watch ends.
func (c *Controller) follow(ctx context.Context) error {
	list, err := c.CRDs.List(ctx, "", registry.ListOptions{})
	if err != nil {
		return err
	}
	again := c.reconcileAll(ctx, items(list))
	w, err := c.CRDs.Watch(ctx, "", registry.ListOptions{ResourceVersion: object.ListMeta(list).GetResourceVersion()})
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		var retry <-chan time.Time
		if again {
			retry = time.After(c.retry())
		}
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == registry.Error {
				return nil
			}
		case <-retry:
		}
		list, err := c.CRDs.List(ctx, "", registry.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return err
		}
		again = c.reconcileAll(ctx, items(list))
	}
}

func (c *Controller) retry() time.Duration {
	if c.Retry > 0 {
		return c.Retry
	}
	return time.Second
}

func items(list proto.Message) []*apiextensionsv1.CustomResourceDefinition {
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, it := range object.Items(list) {
		out = append(out, it.(*apiextensionsv1.CustomResourceDefinition))
	}
	return out
}

// reconcileAll brings every definition's status and serving up to date,
// and stops serving those that are gone. It reports whether some
// definition needs another look soon (objects left to delete).
func (c *Controller) reconcileAll(ctx context.Context, all []*apiextensionsv1.CustomResourceDefinition) bool {
	again := false
	seen := map[string]bool{}
	for _, crd := range all {
		seen[crd.GetMetadata().GetName()] = true
		more, err := c.reconcile(ctx, crd, all)
		if err != nil && ctx.Err() == nil {
			slog.Warn("reconciling a CustomResourceDefinition", "crd", crd.GetMetadata().GetName(), "err", err)
			more = true
		}
		again = again || more
	}
	for name := range c.installed {
		if !seen[name] {
			c.uninstall(name)
		}
	}
	return again
}

// reconcile handles one definition: its names and conditions first (a
// write comes back as a watch event), then its clean-up or serving.
func (c *Controller) reconcile(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition, all []*apiextensionsv1.CustomResourceDefinition) (bool, error) {
	if crd.GetMetadata().GetDeletionTimestamp() != nil {
		return c.cleanUp(ctx, crd)
	}
	now := time.Now()
	next := crd
	if named := crdnames.Sync(next, all, c.Builtin, now); named != nil {
		next = named
	}
	if established := crdnames.Establish(next, now); established != nil {
		next = established
	}
	if next != crd {
		// Serve before saying so: a client that reads Established must
		// find the resource served, even while a new store's cache is
		// still reading its history.
		if crdnames.IsEstablished(next) {
			if err := c.install(ctx, next); err != nil {
				return false, err
			}
		}
		_, err := c.CRDs.UpdateStatus(ctx, next, registry.UpdateOptions{})
		return false, err
	}
	if !crdnames.IsEstablished(crd) {
		c.uninstall(crd.GetMetadata().GetName())
		return false, nil
	}
	return false, c.install(ctx, crd)
}
