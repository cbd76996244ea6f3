package customresource

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/crdnames"
	"skiff.dev/services/apiserver/internal/fieldmanager"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/spec"
	"skiff.dev/services/apiserver/internal/storage"
)

// installed is a definition being served: its store (kept while only the
// definition's status changes, replaced when its spec does) and the
// catalog entries of its versions.
type installed struct {
	uid, resourceVersion string
	generation           int64
	store                *storage.Store
	stop                 context.CancelFunc
	resources            map[*registry.Resource]bool
	// backends are the served versions' backends, by version.
	backends    map[string]registry.Backend
	terminating bool
}

// install serves crd's versions, or brings their serving up to date with
// a changed definition.
func (c *Controller) install(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	name := crd.GetMetadata().GetName()
	in := c.installed[name]
	if in != nil && in.uid != crd.GetMetadata().GetUid() {
		c.uninstall(name) // deleted and made again: a new store
		in = nil
	}
	if in != nil && in.resourceVersion == crd.GetMetadata().GetResourceVersion() && !in.terminating {
		return nil
	}
	// A changed spec gets a new store, as Kubernetes rebuilds a CRD's
	// storage: objects are read anew, with the new schema's defaults.
	// The old store stops once the new one serves.
	var retired *installed
	if in != nil && in.generation != crd.GetMetadata().GetGeneration() {
		retired, in = in, nil
	}
	if in == nil {
		var err error
		if in, err = c.newInstalled(ctx, crd); err != nil {
			return err
		}
		c.installed[name] = in
	}
	var entries []catalog.Entry
	backends := map[string]registry.Backend{}
	for _, v := range crd.GetSpec().GetVersions() {
		if !v.GetServed() {
			continue
		}
		schema, err := c.NewSchema(v.GetSchema().GetOpenApiV3Schema())
		if err != nil {
			slog.Warn("a CustomResourceDefinition version's schema cannot be served", "crd", name, "version", v.GetName(), "err", err)
			continue
		}
		res := resourceFor(crd, v, schema)
		var nsCheck registry.NamespaceCheck
		if res.Namespaced {
			nsCheck = c.NamespaceCheck
		}
		st := registry.NewStore(res, in.store, nsCheck)
		if c.Admission != nil {
			st.SetAdmission(c.Admission)
		}
		var b registry.Backend = st
		if sc := v.GetSubresources().GetScale(); sc != nil {
			b = scaled{Store: st, res: res, paths: sc, split: res.HasStatus}
		}
		e := catalog.Entry{Resource: res, Backend: b, Schema: schema.OpenAPI()}
		if err := trackFields(e); err != nil {
			slog.Warn("server-side apply is not served for a CustomResourceDefinition version", "crd", name, "version", v.GetName(), "err", err)
		}
		backends[v.GetName()] = b
		entries = append(entries, e)
	}
	old := in.resources
	if retired != nil {
		old = retired.resources
	}
	in.resources = map[*registry.Resource]bool{}
	for _, e := range entries {
		in.resources[e.Resource] = true
	}
	in.backends, in.resourceVersion, in.terminating = backends, crd.GetMetadata().GetResourceVersion(), false
	c.Catalog.Update(func(e catalog.Entry) bool { return old[e.Resource] }, entries...)
	if retired != nil {
		retired.stop()
		<-retired.store.Done()
	}
	return nil
}

// trackFields gives a version its field manager, typed by its schema.
func trackFields(e catalog.Entry) error {
	tc, err := fieldmanager.NewTypeConverter(spec.Schemas([]spec.Resource{e.SpecResource()}), false)
	if err != nil {
		return err
	}
	r := e.Resource
	r.FieldManager = fieldmanager.New(tc, r.GroupVersion(), r.Kind, r.ResetFields())
	return nil
}

// newInstalled starts the store of crd's objects, which are read with the
// storage version's defaults.
func (c *Controller) newInstalled(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (*installed, error) {
	cd := codec{kind: crd.GetSpec().GetNames().GetKind(), storageVersion: crd.GetSpec().GetGroup() + "/" + crdnames.StorageVersion(crd)}
	for _, v := range crd.GetSpec().GetVersions() {
		if v.GetStorage() {
			cd.splitStatus = v.GetSubresources().GetStatus() != nil
			if schema, err := c.NewSchema(v.GetSchema().GetOpenApiV3Schema()); err == nil {
				cd.defaults = schema.Default
			}
		}
	}
	cfg := storage.Config{
		Client: c.Etcd, Group: crd.GetSpec().GetGroup(), Resource: crd.GetSpec().GetNames().GetPlural(),
		Namespaced: crd.GetSpec().GetScope() == "Namespaced", NewFunc: newObject,
		Codec: cd, WatchCacheSize: c.WatchCacheSize,
	}
	if c.Transformer != nil {
		cfg.Transformer = c.Transformer(cfg.Group, cfg.Resource)
	}
	st := storage.New(cfg)
	storeCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if err := st.Start(storeCtx); err != nil {
		stop()
		return nil, fmt.Errorf("start the store of %s: %w", crd.GetMetadata().GetName(), err)
	}
	return &installed{uid: crd.GetMetadata().GetUid(), generation: crd.GetMetadata().GetGeneration(),
		store: st, stop: stop}, nil
}

// uninstall stops serving a definition's versions and its store.
func (c *Controller) uninstall(name string) {
	in := c.installed[name]
	if in == nil {
		return
	}
	delete(c.installed, name)
	c.Catalog.Update(func(e catalog.Entry) bool { return in.resources[e.Resource] })
	in.stop()
	<-in.store.Done()
}

func (c *Controller) uninstallAll() {
	for name := range c.installed {
		c.uninstall(name)
	}
}

// refuseCreates keeps serving a terminating definition's objects for
// reading and deleting, but refuses new ones, as Kubernetes does.
func (c *Controller) refuseCreates(in *installed) {
	if in.terminating {
		return
	}
	in.terminating = true
	var entries []catalog.Entry
	for _, e := range c.Catalog.Snapshot().Entries {
		if in.resources[e.Resource] {
			entries = append(entries, catalog.Entry{Resource: e.Resource, Backend: terminating{e.Backend, e.Resource}, Schema: e.Schema})
		}
	}
	c.Catalog.Update(func(e catalog.Entry) bool { return in.resources[e.Resource] }, entries...)
}

// terminating is a backend whose definition is being deleted.
type terminating struct {
	registry.Backend
	res *registry.Resource
}

// Patch refuses a server-side apply's create as well: it is written
// through Create here.
func (t terminating) Patch(ctx context.Context, namespace, name string, p registry.Patch, opts registry.UpdateOptions) (proto.Message, error) {
	if st, ok := t.Backend.(interface {
		ApplyThrough(context.Context, string, string, registry.Patch, registry.UpdateOptions, registry.Backend) (proto.Message, error)
	}); ok && p.Type == registry.PatchApply {
		return st.ApplyThrough(ctx, namespace, name, p, opts, t)
	}
	return t.Backend.Patch(ctx, namespace, name, p, opts)
}

func (t terminating) Create(context.Context, proto.Message, registry.CreateOptions) (proto.Message, error) {
	err := apierrors.NewMethodNotSupported(t.res.ErrorResource(), "create")
	err.Status.Message = "create not allowed while custom resource definition is terminating"
	return nil, err
}
