package follow

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"skiff.dev/services/apiserver/internal/registry"
)

// Namespaced is an in-memory copy of a namespaced resource, by
// namespace, that a Follower keeps current: what admission plugins read of
// other resources (a namespace's LimitRanges, its ResourceQuotas). The
// objects it hands out are shared: callers must not change them.
type Namespaced[T proto.Message] struct {
	mu   sync.RWMutex
	byNS map[string]map[string]T
}

// NewNamespaced returns an empty copy; Start fills it.
func NewNamespaced[T proto.Message]() *Namespaced[T] {
	return &Namespaced[T]{byNS: map[string]map[string]T{}}
}

// Start lists the resource through b and follows it until ctx ends; the
// channel closes when following has stopped.
func (n *Namespaced[T]) Start(ctx context.Context, b registry.Backend) (<-chan struct{}, error) {
	f := &Follower{Backend: b, Set: n.Set, Remove: n.Remove}
	rev, err := f.List(ctx)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx, rev)
	}()
	return done, nil
}

// List returns the objects of a namespace, by name.
func (n *Namespaced[T]) List(namespace string) []T {
	n.mu.RLock()
	defer n.mu.RUnlock()
	objs := n.byNS[namespace]
	out := make([]T, 0, len(objs))
	for _, name := range slices.Sorted(maps.Keys(objs)) {
		out = append(out, objs[name])
	}
	return out
}

// Set adds or replaces an object.
func (n *Namespaced[T]) Set(obj proto.Message) {
	ns, name, _ := strings.Cut(key(obj), "/")
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byNS[ns] == nil {
		n.byNS[ns] = map[string]T{}
	}
	n.byNS[ns][name] = obj.(T)
}

// Remove forgets an object.
func (n *Namespaced[T]) Remove(namespace, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.byNS[namespace], name)
	if len(n.byNS[namespace]) == 0 {
		delete(n.byNS, namespace)
	}
}
