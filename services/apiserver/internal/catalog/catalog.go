// Package catalog is the set of resources the apiserver serves. It changes
// while the server runs: the built-in kinds are there from the start, and
// custom resources come and go with their CustomResourceDefinitions.
// Readers take an immutable snapshot; each snapshot has a generation, so
// what is derived from it (discovery documents, OpenAPI) is rebuilt only
// when the set has changed.
package catalog

import (
	"sync"
	"sync/atomic"

	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/spec"
)

// Entry is one served resource and the backend that serves it.
type Entry struct {
	Resource *registry.Resource
	Backend  registry.Backend
	// Schema is the OpenAPI v3 schema of a resource without protobuf
	// messages (a custom resource's version), in JSON shape; nil for
	// built-in kinds, whose schemas come from their messages.
	Schema map[string]any
}

// Snapshot is the served set at one moment. It never changes.
type Snapshot struct {
	Generation uint64
	Entries    []Entry // built-in kinds first, in discovery order
	byKey      map[string]Entry
}

// Key identifies a resource by group, version and plural.
func Key(group, version, plural string) string {
	return group + "/" + version + "/" + plural
}

// Lookup finds a served resource.
func (s *Snapshot) Lookup(group, version, plural string) (Entry, bool) {
	e, ok := s.byKey[Key(group, version, plural)]
	return e, ok
}

// Resources lists the served resources.
func (s *Snapshot) Resources() []*registry.Resource {
	out := make([]*registry.Resource, len(s.Entries))
	for i, e := range s.Entries {
		out[i] = e.Resource
	}
	return out
}

// Catalog holds the current snapshot.
type Catalog struct {
	mu       sync.Mutex // serializes writers
	current  atomic.Pointer[Snapshot]
	changed  chan struct{} // closed and replaced on every change
	changeMu sync.Mutex
}

// New starts a catalog with the given entries.
func New(entries []Entry) *Catalog {
	c := &Catalog{changed: make(chan struct{})}
	c.current.Store(snapshot(0, entries))
	return c
}

func snapshot(gen uint64, entries []Entry) *Snapshot {
	s := &Snapshot{Generation: gen, Entries: entries, byKey: make(map[string]Entry, len(entries))}
	for _, e := range entries {
		r := e.Resource
		// The first entry of a key wins: a built-in resource shadows a
		// custom one of the same name, as in Kubernetes.
		if _, taken := s.byKey[Key(r.Group, r.Version, r.Plural)]; !taken {
			s.byKey[Key(r.Group, r.Version, r.Plural)] = e
		}
	}
	return s
}

// Snapshot returns the current set.
func (c *Catalog) Snapshot() *Snapshot { return c.current.Load() }

// Changed is closed at the next change of the set.
func (c *Catalog) Changed() <-chan struct{} {
	c.changeMu.Lock()
	defer c.changeMu.Unlock()
	return c.changed
}

// Update replaces, in one step, the entries drop selects with add.
func (c *Catalog) Update(drop func(Entry) bool, add ...Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.current.Load()
	entries := make([]Entry, 0, len(old.Entries)+len(add))
	for _, e := range old.Entries {
		if drop == nil || !drop(e) {
			entries = append(entries, e)
		}
	}
	c.publish(old, append(entries, add...))
}

// Wrap replaces the backend of one resource with wrap(backend), how a
// backend gains what storage alone cannot do; false when the resource is
// not served.
func (c *Catalog) Wrap(group, plural string, wrap func(registry.Backend) registry.Backend) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.current.Load()
	entries := make([]Entry, len(old.Entries))
	copy(entries, old.Entries)
	found := false
	for i, e := range entries {
		if e.Resource.Group == group && e.Resource.Plural == plural {
			entries[i].Backend = wrap(e.Backend)
			found = true
		}
	}
	if found {
		c.publish(old, entries)
	}
	return found
}

// publish makes entries the current set; c.mu is held.
func (c *Catalog) publish(old *Snapshot, entries []Entry) {
	c.current.Store(snapshot(old.Generation+1, entries))
	c.changeMu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.changeMu.Unlock()
}

// SpecResource is the entry as the OpenAPI documents describe it: by its
// messages, or by its schema when it has no messages.
func (e Entry) SpecResource() spec.Resource {
	r := e.Resource
	sr := spec.Resource{Group: r.Group, Version: r.Version, Kind: r.Kind, Plural: r.Plural, Namespaced: r.Namespaced,
		Subresources: r.Subresources, Verbs: r.Verbs, Schema: e.Schema}
	if e.Schema == nil {
		sr.Object = r.New().ProtoReflect().Descriptor()
		if r.NewList != nil {
			sr.List = r.NewList().ProtoReflect().Descriptor()
		}
	}
	return sr
}
