// Package api assembles the served API: every stored resource of the
// kinds table gets an etcd store behind its registry backend, reviews get
// the backend that answers them, the namespace lifecycle is wired in, and
// both faces (REST and gRPC) are built over the same backends.
package api

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/pkg/kprotobuf"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/admission/webhook"
	"skiff.dev/services/apiserver/internal/apf"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/authorizer/node"
	"skiff.dev/services/apiserver/internal/authorizer/rbacindex"
	"skiff.dev/services/apiserver/internal/bootstrappolicy"
	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/crdnames"
	"skiff.dev/services/apiserver/internal/crdschema"
	"skiff.dev/services/apiserver/internal/customresource"
	"skiff.dev/services/apiserver/internal/encryption"
	"skiff.dev/services/apiserver/internal/eviction"
	"skiff.dev/services/apiserver/internal/kinds"
	"skiff.dev/services/apiserver/internal/namespaces"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/priorityclasses"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/storage"
)

// API is the set of served resources and their backends.
type API struct {
	// Catalog is what is served now: the built-in kinds, and the custom
	// resources added while the server runs.
	Catalog *catalog.Catalog
	caches  []*storage.Store
	crds    *customresource.Controller
	rbac    *rbacindex.Index
	nodes   *node.Authorizer
	// webhooks are the admission webhooks, following their
	// configurations once started.
	webhooks *webhook.Webhooks
	authz    authorizer.Authorizer
	// admission is the chain every store runs; some of its plugins read
	// other resources and start with the API.
	admission admission.Chain
	done      chan struct{}
}

// Config is what the API needs.
type Config struct {
	Etcd           *clientv3.Client
	WatchCacheSize int
	// NoWatchIndex makes the watch caches match every change against every
	// watcher (measurement only).
	NoWatchIndex bool
	// AuthorizationModes are the authorizers after system:masters' (Node,
	// RBAC, AlwaysAllow, AlwaysDeny); none leaves only system:masters
	// allowed.
	AuthorizationModes []string
	// EnableAdmissionPlugins and DisableAdmissionPlugins change the
	// default admission chain (package admission).
	EnableAdmissionPlugins, DisableAdmissionPlugins []string
	// Encryption, when set, encrypts the values of the resources its
	// configuration names, custom resources included.
	Encryption *encryption.Set
}

// newSchema gives a CustomResourceDefinition version's objects the rules
// of its schema.
func newSchema(props *apiextensionsv1.JSONSchemaProps) (customresource.Schema, error) {
	return crdschema.New(props)
}

// New builds the API over etcd. Start must run before it serves.
func New(cfg Config) (*API, error) {
	a := &API{done: make(chan struct{}), rbac: rbacindex.New(), nodes: node.New(bootstrappolicy.NodeRules())}
	var err error
	var rules authorizer.RuleResolver
	if a.authz, rules, err = newAuthorizer(cfg.AuthorizationModes, a.rbac, a.nodes); err != nil {
		return nil, err
	}
	builtin := kinds.All()
	var nsStore *registry.Store
	stores := map[*registry.Resource]*registry.Store{}
	for _, res := range builtin {
		stored := res.Stored()
		var codec storage.Codec = envelopeCodec{res: stored}
		if res.StoredAs != nil {
			codec = convertingCodec{stored: codec, as: res.StoredAs}
		}
		st := storage.New(storage.Config{
			Client: cfg.Etcd, Group: stored.StorageGroup(), Resource: stored.Plural, Namespaced: res.Namespaced,
			NewFunc: res.New, Codec: codec, WatchCacheSize: cfg.WatchCacheSize,
			Transformer: cfg.Encryption.For(stored.Group, stored.Plural),
			IndexField:  watchIndexField, IndexFunc: watchIndexFunc(res), NoWatchIndex: cfg.NoWatchIndex,
		})
		a.caches = append(a.caches, st)
		stores[res] = registry.NewStore(res, st, nil)
		if res.Plural == "namespaces" && res.Group == "" {
			nsStore = stores[res]
		}
	}
	if nsStore == nil {
		return nil, fmt.Errorf("the kinds table has no namespaces resource")
	}
	check := namespaces.Check(nsStore)
	if a.webhooks, err = newWebhooks(stores, a.servedVersions); err != nil {
		return nil, err
	}
	chain, err := buildAdmission(cfg, stores, a.webhooks)
	if err != nil {
		return nil, err
	}
	a.admission = chain
	for _, st := range stores {
		st.SetAdmission(chain)
	}
	if err := guardRBAC(stores, a.authz); err != nil {
		return nil, err
	}
	if err := guardCSRs(stores, a.authz); err != nil {
		return nil, err
	}
	var entries []catalog.Entry
	for _, res := range builtin {
		st := stores[res]
		if res.Namespaced {
			st.SetNamespaceCheck(check)
		}
		var b registry.Backend = st
		if res.Plural == "pods" && res.Group == "" {
			b = kinds.PodStore{Store: st, Evictions: &eviction.Evictor{Pods: st, Budgets: storeOf(stores, "policy", "poddisruptionbudgets")}}
		}
		entries = append(entries, catalog.Entry{Resource: res, Backend: b})
	}
	// Reviews are answered, never stored.
	for _, r := range append(kinds.Reviews(), kinds.AccessReviews(a.authz, rules)...) {
		entries = append(entries, catalog.Entry{Resource: r.Resource, Backend: r.Backend})
	}
	if err := trackFields(entries); err != nil {
		return nil, err
	}
	a.Catalog = catalog.New(entries)
	a.crds = &customresource.Controller{
		CRDs: a.Backend("apiextensions.k8s.io", "customresourcedefinitions"), Catalog: a.Catalog,
		Etcd: cfg.Etcd, WatchCacheSize: cfg.WatchCacheSize, NamespaceCheck: check, Admission: chain,
		NewSchema: newSchema, Builtin: builtinNames(builtin), Transformer: cfg.Encryption.For,
	}
	if a.crds.CRDs == nil {
		return nil, fmt.Errorf("the kinds table has no customresourcedefinitions resource")
	}
	return a, nil
}

// Start fills the watch caches and creates the system namespaces, the
// mandatory API priority and fairness objects, the system PriorityClasses
// (priorityclasses) and the bootstrap RBAC policy (bootstrappolicy). A
// deleted namespace is emptied and finalized by the controller-manager's
// namespace controller.
func (a *API) Start(ctx context.Context) error {
	// The caches start side by side: each waits for etcd to deliver its
	// history (storage/history.go), which etcd does for all at once.
	var caches errgroup.Group
	for _, st := range a.caches {
		caches.Go(func() error { return st.Start(ctx) })
	}
	if err := caches.Wait(); err != nil {
		return err
	}
	ns := a.Backend("", "namespaces")
	if err := namespaces.EnsureSystem(ctx, ns); err != nil {
		return err
	}
	const fc = "flowcontrol.apiserver.k8s.io"
	if err := apf.EnsureMandatory(ctx, a.Backend(fc, "flowschemas"), a.Backend(fc, "prioritylevelconfigurations")); err != nil {
		return err
	}
	if err := priorityclasses.EnsureSystem(ctx, a.Backend("scheduling.k8s.io", "priorityclasses")); err != nil {
		return fmt.Errorf("system priority classes: %w", err)
	}
	const rbac = "rbac.authorization.k8s.io"
	if _, err := bootstrappolicy.Reconcile(ctx, bootstrappolicy.Default(), bootstrappolicy.Backends{
		ClusterRoles: a.Backend(rbac, "clusterroles"), ClusterRoleBindings: a.Backend(rbac, "clusterrolebindings"),
		Roles: a.Backend(rbac, "roles"), RoleBindings: a.Backend(rbac, "rolebindings")}); err != nil {
		return fmt.Errorf("bootstrap RBAC policy: %w", err)
	}
	if err := a.startAuthorizers(ctx); err != nil {
		return err
	}
	if err := a.webhooks.Start(ctx); err != nil {
		return err
	}
	admissionDone, err := a.admission.Start(ctx)
	if err != nil {
		return err
	}
	crdsDone := make(chan struct{})
	go func() {
		defer close(crdsDone)
		a.crds.Run(ctx)
	}()
	go func() {
		defer close(a.done)
		<-ctx.Done()
		<-crdsDone
		<-a.rbac.Done()
		<-a.nodes.Done()
		<-a.webhooks.Done()
		<-admissionDone
		for _, st := range a.caches {
			<-st.Done()
		}
	}()
	return nil
}

// Done is closed when everything Start began has stopped, after ctx ended.
func (a *API) Done() <-chan struct{} { return a.done }

// builtinNames are the names the built-in kinds hold in their groups,
// which no CustomResourceDefinition may take.
func builtinNames(resources []*registry.Resource) []crdnames.Names {
	out := make([]crdnames.Names, len(resources))
	for i, r := range resources {
		out[i] = crdnames.Names{Group: r.Group, Plural: r.Plural, Singular: r.Singular, Kind: r.Kind,
			ListKind: r.ListKind, ShortNames: r.ShortNames}
	}
	return out
}

// Wrap replaces the backend of a resource with wrap(backend), on both
// faces: how a backend gains subresources that need more than storage
// (serviceaccounts/token).
func (a *API) Wrap(group, plural string, wrap func(registry.Backend) registry.Backend) error {
	if !a.Catalog.Wrap(group, plural, wrap) {
		return fmt.Errorf("no %s resource in group %q to wrap", plural, group)
	}
	return nil
}

// Backend returns the backend of a resource (its first served version),
// nil when it is not served.
func (a *API) Backend(group, plural string) registry.Backend {
	for _, e := range a.Catalog.Snapshot().Entries {
		if e.Resource.Group == group && e.Resource.Plural == plural {
			return e.Backend
		}
	}
	return nil
}

// envelopeCodec stores objects as Kubernetes protobuf (k8s\0 + Unknown).
type envelopeCodec struct{ res *registry.Resource }

func (c envelopeCodec) Encode(obj proto.Message) ([]byte, error) {
	return kprotobuf.Encode(obj, c.res.GroupVersion(), c.res.Kind)
}

func (c envelopeCodec) Decode(data []byte, into proto.Message) error {
	if _, _, err := kprotobuf.Decode(data, into); err != nil {
		return err
	}
	object.ClearTypeMeta(into)
	return nil
}

// convertingCodec stores a resource's objects as another resource's
// (events.k8s.io/v1 Events as core/v1 Events): both read and write the
// same keys and bytes.
type convertingCodec struct {
	stored storage.Codec
	as     *registry.StoredAs
}

func (c convertingCodec) Encode(obj proto.Message) ([]byte, error) {
	return c.stored.Encode(c.as.ToStored(obj))
}

func (c convertingCodec) Decode(data []byte, into proto.Message) error {
	stored := c.as.Resource.New()
	if err := c.stored.Decode(data, stored); err != nil {
		return err
	}
	proto.Reset(into)
	proto.Merge(into, c.as.FromStored(stored))
	return nil
}
