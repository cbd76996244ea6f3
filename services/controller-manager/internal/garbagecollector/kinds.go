package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/kjson"
)

// kind is one resource the collector follows, seen as its objects'
// metadata: any served kind, built-in or custom, found through discovery.
type kind interface {
	name() string // the group and kind: "ReplicaSet.apps", "Pod"
	list() []proto.Message
	get(key string) (proto.Message, bool)
	byIndex(index, value string) []proto.Message
	onChange(func(old, obj proto.Message, deleted bool))
	live(ctx context.Context, ns, name string) (proto.Message, error)
	update(ctx context.Context, obj proto.Message) error
	remove(ctx context.Context, ns, name string, policy string) error
}

// groupKind names a kind as Kubernetes prints a GroupKind: "Kind.group",
// or "Kind" in the core group.
func groupKind(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// refKind is the groupKind an owner reference points at.
func refKind(ref *metav1.OwnerReference) string {
	group, _, found := strings.Cut(ref.GetApiVersion(), "/")
	if !found {
		group = ""
	}
	return groupKind(group, ref.GetKind())
}

// ignored are the resources the collector leaves alone, as Kubernetes'
// does by default: Events are never owned and are the busiest kind.
var ignored = map[string]bool{"v1/events": true, "events.k8s.io/v1/events": true}

// followed is whether the collector follows a served resource: one it can
// list, watch and delete, one version per group and resource.
func followed(r client.ServedResource) bool {
	return !ignored[r.String()] && r.Has("list") && r.Has("watch") && r.Has("delete") && r.Has("patch")
}

// monitor follows one resource through a metadata informer.
type monitor struct {
	res client.ServedResource
	c   *client.Client
	inf *informer.Informer[*metav1.PartialObjectMetadata]
}

func newMonitor(c *client.Client, res client.ServedResource) *monitor {
	idx := map[string]informer.IndexFunc[*metav1.PartialObjectMetadata]{
		informer.IndexOwners: informer.OwnersIndex[*metav1.PartialObjectMetadata],
		informer.IndexUID:    informer.UIDIndex[*metav1.PartialObjectMetadata],
	}
	inf := informer.New(informer.FromResource(c.Metadata(res.GroupVersionResource, "")), informer.Options[*metav1.PartialObjectMetadata]{Indexers: idx})
	return &monitor{res: res, c: c, inf: inf}
}

func (m *monitor) name() string { return groupKind(m.res.Group, m.res.Kind) }

func erase[T proto.Message](in []T) []proto.Message {
	out := make([]proto.Message, len(in))
	for i, o := range in {
		out[i] = o
	}
	return out
}

func (m *monitor) list() []proto.Message { return erase(m.inf.Store().List()) }

func (m *monitor) get(key string) (proto.Message, bool) { return m.inf.Store().Get(key) }

func (m *monitor) byIndex(index, value string) []proto.Message {
	return erase(m.inf.Store().ByIndex(index, value))
}

func (m *monitor) onChange(f func(old, obj proto.Message, deleted bool)) {
	m.inf.AddHandler(informer.Handler[*metav1.PartialObjectMetadata]{
		OnAdd:    func(obj *metav1.PartialObjectMetadata) { f(nil, obj, false) },
		OnUpdate: func(old, obj *metav1.PartialObjectMetadata) { f(old, obj, false) },
		OnDelete: func(obj *metav1.PartialObjectMetadata) { f(nil, obj, true) },
	})
}

// scope is the namespace to address an object of the resource in.
func (m *monitor) scope(ns string) string {
	if !m.res.Namespaced {
		return ""
	}
	return ns
}

func (m *monitor) live(ctx context.Context, ns, name string) (proto.Message, error) {
	return m.c.Metadata(m.res.GroupVersionResource, m.scope(ns)).Get(ctx, name)
}

// update writes an object's owner references and finalizers as obj has
// them, by a merge patch pinned to the resourceVersion read (a conflict
// if the object changed since).
func (m *monitor) update(ctx context.Context, obj proto.Message) error {
	meta := informer.Meta(obj)
	refs := make([]json.RawMessage, 0, len(meta.GetOwnerReferences()))
	for _, ref := range meta.GetOwnerReferences() {
		raw, err := kjson.Marshal(ref)
		if err != nil {
			return fmt.Errorf("encode an owner reference: %w", err)
		}
		refs = append(refs, raw)
	}
	finalizers := meta.GetFinalizers()
	if finalizers == nil {
		finalizers = []string{}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": meta.GetResourceVersion(), "ownerReferences": refs, "finalizers": finalizers}})
	if err != nil {
		return err
	}
	_, err = m.c.Metadata(m.res.GroupVersionResource, m.scope(meta.GetNamespace())).Patch(ctx, meta.GetName(), client.MergePatch, patch, client.WriteOptions{}, "")
	return err
}

func (m *monitor) remove(ctx context.Context, ns, name, policy string) error {
	_, err := m.c.Metadata(m.res.GroupVersionResource, m.scope(ns)).Delete(ctx, name, &metav1.DeleteOptions{PropagationPolicy: &policy})
	return err
}
