// Package informer keeps a local cache of one kind of object in step with
// the apiserver: it lists, then watches from the list's resourceVersion,
// tells handlers about every change, resumes a dropped watch from the last
// resourceVersion it saw (on whichever apiserver the client reaches then),
// and recovers from a 410 Expired by listing again and telling handlers
// only what differs, so no change is lost or reported twice.
package informer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
)

// Source is what an informer reads from; FromResource adapts pkg/client.
type Source[T proto.Message] interface {
	List(ctx context.Context, opts client.ListOptions) (items []T, resourceVersion string, err error)
	Watch(ctx context.Context, opts client.ListOptions) (client.Watcher[T], error)
}

// Handler is told about changes. Calls come from the informer's goroutine,
// one at a time and in order; a handler should be quick (queue a key).
// Any func may be nil.
type Handler[T proto.Message] struct {
	OnAdd    func(obj T)
	OnUpdate func(old, obj T)
	OnDelete func(obj T)
}

// Options tune an informer.
type Options[T proto.Message] struct {
	// LabelSelector and FieldSelector narrow what is cached (a kubelet
	// watches only its node's pods).
	LabelSelector, FieldSelector string
	// Resync, when set, re-delivers every cached object to OnUpdate this
	// often, so level-based controllers recheck everything.
	Resync time.Duration
	// Indexers are the indexes the store keeps, by name.
	Indexers map[string]IndexFunc[T]
	// Clock drives resync and retry back-off (default: real time).
	Clock clock.Clock
}

// Informer caches one kind of object.
type Informer[T proto.Message] struct {
	src   Source[T]
	opts  Options[T]
	store *Store[T]

	mu       sync.Mutex
	handlers []Handler[T]
	synced   chan struct{}
	rv       string
	listErr  error // the last list's error; nil once a list works
}

// New builds an informer; Start runs it.
func New[T proto.Message](src Source[T], opts Options[T]) *Informer[T] {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	return &Informer[T]{src: src, opts: opts, store: newStore(opts.Indexers), synced: make(chan struct{})}
}

// AddHandler registers a handler; one added after the first sync is first
// told about every cached object as an add.
func (i *Informer[T]) AddHandler(h Handler[T]) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.handlers = append(i.handlers, h)
	if i.HasSynced() && h.OnAdd != nil {
		for _, obj := range i.store.List() {
			h.OnAdd(obj)
		}
	}
}

// Store is the cache.
func (i *Informer[T]) Store() *Store[T] { return i.store }

// HasSynced reports whether the first list has been delivered.
func (i *Informer[T]) HasSynced() bool {
	select {
	case <-i.synced:
		return true
	default:
		return false
	}
}

// Ready is nil once the first list is delivered and while lists work:
// an error says the cache has not synced yet, or that the last list
// failed (the cache may be stale), and why.
func (i *Informer[T]) Ready() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	var zero T
	kind := zero.ProtoReflect().Descriptor().Name()
	if i.listErr != nil {
		return fmt.Errorf("%s informer: list failed: %w", kind, i.listErr)
	}
	if !i.HasSynced() {
		return fmt.Errorf("%s informer: not synced yet", kind)
	}
	return nil
}

func (i *Informer[T]) setListErr(err error) {
	i.mu.Lock()
	i.listErr = err
	i.mu.Unlock()
}

// WaitForSync blocks until the first list is delivered or ctx ends.
func (i *Informer[T]) WaitForSync(ctx context.Context) bool {
	select {
	case <-i.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

// Start lists and watches until ctx ends; it returns nil then.
func (i *Informer[T]) Start(ctx context.Context) error {
	failures := 0
	needList := true
	var resync <-chan time.Time
	if i.opts.Resync > 0 {
		resync = i.opts.Clock.After(i.opts.Resync)
	}
	for ctx.Err() == nil {
		if needList {
			if err := i.relist(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				i.setListErr(err)
				failures++
				slog.WarnContext(ctx, "informer list failed", "err", err, "failures", failures)
				if !i.wait(ctx, failures) {
					return nil
				}
				continue
			}
			failures = 0
		}
		var err error
		var progressed bool
		needList, progressed, resync, err = i.watch(ctx, resync)
		if err != nil && ctx.Err() == nil {
			// A watch that delivered changes before it broke (its
			// apiserver went away, or ended it) is resumed after the
			// first step of the back-off (100ms) from the last
			// resourceVersion; only watches that fail again and again
			// back off further.
			if progressed {
				failures = 0
			}
			failures++
			slog.DebugContext(ctx, "informer watch ended", "err", err, "relist", needList)
			if !i.wait(ctx, failures) {
				return nil
			}
		} else {
			failures = 0
		}
	}
	return nil
}

// wait backs off before a retry: 100ms doubling to 30s.
func (i *Informer[T]) wait(ctx context.Context, failures int) bool {
	d := 100 * time.Millisecond
	for n := 1; n < failures && d < 30*time.Second; n++ {
		d *= 2
	}
	select {
	case <-ctx.Done():
		return false
	case <-i.opts.Clock.After(min(d, 30*time.Second)):
		return true
	}
}

func (i *Informer[T]) listOptions() client.ListOptions {
	return client.ListOptions{LabelSelector: i.opts.LabelSelector, FieldSelector: i.opts.FieldSelector}
}

// relist replaces the cache with a fresh list and tells handlers what
// differs from what they were told before.
func (i *Informer[T]) relist(ctx context.Context) error {
	items, rv, err := i.src.List(ctx, i.listOptions())
	if err != nil {
		return err
	}
	before := i.store.keys()
	for _, obj := range items {
		key := KeyOf(obj)
		oldRV, known := before[key]
		delete(before, key)
		if known && oldRV == Meta(obj).GetResourceVersion() {
			continue
		}
		i.apply(client.Modified, obj)
	}
	for key := range before {
		if old, ok := i.store.remove(key); ok {
			i.notify(func(h Handler[T]) {
				if h.OnDelete != nil {
					h.OnDelete(old)
				}
			})
		}
	}
	i.mu.Lock()
	i.rv = rv
	i.listErr = nil
	if !i.HasSynced() {
		close(i.synced)
	}
	i.mu.Unlock()
	return nil
}

// errExpired says the watch's resourceVersion is gone: list again.
var errExpired = errors.New("watch expired")

// watch follows changes from the last resourceVersion until the watch
// ends, on whichever apiserver the client reaches. It reports whether a
// relist is needed (410 Expired only) and whether the watch delivered
// anything before it ended.
func (i *Informer[T]) watch(ctx context.Context, resync <-chan time.Time) (relist, progressed bool, _ <-chan time.Time, _ error) {
	opts := i.listOptions()
	i.mu.Lock()
	opts.ResourceVersion = i.rv
	i.mu.Unlock()
	opts.AllowWatchBookmarks = true
	w, err := i.src.Watch(ctx, opts)
	if err != nil {
		return client.IsExpired(err), false, resync, err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, progressed, resync, nil
		case <-resync:
			i.resync()
			resync = i.opts.Clock.After(i.opts.Resync)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, progressed, resync, errors.New("watch closed")
			}
			switch ev.Type {
			case client.Error:
				if ev.Status.GetCode() == 410 {
					return true, progressed, resync, errExpired
				}
				return false, progressed, resync, errors.New(ev.Status.GetMessage())
			case client.Bookmark:
				i.setRV(Meta(ev.Object).GetResourceVersion())
			default:
				i.apply(ev.Type, ev.Object)
				i.setRV(Meta(ev.Object).GetResourceVersion())
			}
			progressed = true
		}
	}
}

func (i *Informer[T]) setRV(rv string) {
	if rv == "" {
		return
	}
	i.mu.Lock()
	i.rv = rv
	i.mu.Unlock()
}

// apply stores one change and tells the handlers.
func (i *Informer[T]) apply(typ string, obj T) {
	if typ == client.Deleted {
		i.store.remove(KeyOf(obj))
		i.notify(func(h Handler[T]) {
			if h.OnDelete != nil {
				h.OnDelete(obj) // the object's last state, as the watch gave it
			}
		})
		return
	}
	old, existed := i.store.set(obj)
	i.notify(func(h Handler[T]) {
		switch {
		case existed && h.OnUpdate != nil:
			h.OnUpdate(old, obj)
		case !existed && h.OnAdd != nil:
			h.OnAdd(obj)
		}
	})
}

func (i *Informer[T]) resync() {
	for _, obj := range i.store.List() {
		i.notify(func(h Handler[T]) {
			if h.OnUpdate != nil {
				h.OnUpdate(obj, obj)
			}
		})
	}
}

func (i *Informer[T]) notify(f func(Handler[T])) {
	i.mu.Lock()
	handlers := append([]Handler[T](nil), i.handlers...)
	i.mu.Unlock()
	for _, h := range handlers {
		f(h)
	}
}
