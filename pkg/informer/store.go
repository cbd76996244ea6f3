package informer

import (
	"sort"
	"sync"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// IndexFunc returns the index values of an object (its namespace, its
// node, its owners' uids).
type IndexFunc[T proto.Message] func(obj T) []string

// Store is an informer's cache: the objects by key, and indexes over them.
// Objects handed out are shared: callers must not change them.
type Store[T proto.Message] struct {
	mu       sync.RWMutex
	items    map[string]T
	indexers map[string]IndexFunc[T]
	indexes  map[string]map[string]map[string]struct{} // index -> value -> keys
}

func newStore[T proto.Message](indexers map[string]IndexFunc[T]) *Store[T] {
	s := &Store[T]{items: map[string]T{}, indexers: indexers, indexes: map[string]map[string]map[string]struct{}{}}
	for name := range indexers {
		s.indexes[name] = map[string]map[string]struct{}{}
	}
	return s
}

// Meta returns the metadata of any top-level object.
func Meta(obj proto.Message) *metav1.ObjectMeta {
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	if fd == nil || !m.Has(fd) {
		return &metav1.ObjectMeta{}
	}
	meta, _ := m.Get(fd).Message().Interface().(*metav1.ObjectMeta)
	return meta
}

// KeyOf is "namespace/name", or "name" for cluster-scoped objects.
func KeyOf(obj proto.Message) string {
	meta := Meta(obj)
	if meta.GetNamespace() == "" {
		return meta.GetName()
	}
	return meta.GetNamespace() + "/" + meta.GetName()
}

// Get returns the object with a key.
func (s *Store[T]) Get(key string) (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	obj, ok := s.items[key]
	return obj, ok
}

// List returns every object, sorted by key.
func (s *Store[T]) List() []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = s.items[k]
	}
	return out
}

// ByIndex returns the objects whose index values include value, sorted
// by key.
func (s *Store[T]) ByIndex(index, value string) []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.indexes[index][value]))
	for k := range s.indexes[index][value] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = s.items[k]
	}
	return out
}

// Len is the number of objects.
func (s *Store[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

// set stores obj and returns what it replaced.
func (s *Store[T]) set(obj T) (old T, existed bool) {
	key := KeyOf(obj)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, existed = s.items[key]
	if existed {
		s.unindex(key, old)
	}
	s.items[key] = obj
	for name, f := range s.indexers {
		for _, v := range f(obj) {
			if s.indexes[name][v] == nil {
				s.indexes[name][v] = map[string]struct{}{}
			}
			s.indexes[name][v][key] = struct{}{}
		}
	}
	return old, existed
}

// remove deletes the object with key and returns it.
func (s *Store[T]) remove(key string) (old T, existed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, existed = s.items[key]
	if existed {
		s.unindex(key, old)
		delete(s.items, key)
	}
	return old, existed
}

func (s *Store[T]) unindex(key string, obj T) {
	for name, f := range s.indexers {
		for _, v := range f(obj) {
			delete(s.indexes[name][v], key)
			if len(s.indexes[name][v]) == 0 {
				delete(s.indexes[name], v)
			}
		}
	}
}

// keys returns every key.
func (s *Store[T]) keys() map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]string, len(s.items))
	for k, obj := range s.items {
		out[k] = Meta(obj).GetResourceVersion()
	}
	return out
}

// The indexes every controller wants.
const (
	IndexNamespace = "namespace"
	IndexOwner     = "owner"         // the uid of the controlling owner
	IndexNodeName  = "spec.nodeName" // the node a pod is bound to
	IndexOwners    = "owners"        // the uids of every owner
	IndexUID       = "uid"
)

// NamespaceIndex indexes objects by namespace.
func NamespaceIndex[T proto.Message](obj T) []string {
	if ns := Meta(obj).GetNamespace(); ns != "" {
		return []string{ns}
	}
	return nil
}

// OwnerIndex indexes objects by the uid of their controlling owner.
func OwnerIndex[T proto.Message](obj T) []string {
	for _, ref := range Meta(obj).GetOwnerReferences() {
		if ref.GetController() {
			return []string{ref.GetUid()}
		}
	}
	return nil
}

// OwnersIndex indexes objects by the uid of each of their owners.
func OwnersIndex[T proto.Message](obj T) []string {
	refs := Meta(obj).GetOwnerReferences()
	out := make([]string, 0, len(refs))
	for _, ref := range refs {
		out = append(out, ref.GetUid())
	}
	return out
}

// UIDIndex indexes objects by their uid.
func UIDIndex[T proto.Message](obj T) []string {
	if uid := Meta(obj).GetUid(); uid != "" {
		return []string{uid}
	}
	return nil
}

// NodeNameIndex indexes pods by the node they are bound to; pending pods
// are not in it.
func NodeNameIndex(pod *corev1.Pod) []string {
	if n := pod.GetSpec().GetNodeName(); n != "" {
		return []string{n}
	}
	return nil
}
