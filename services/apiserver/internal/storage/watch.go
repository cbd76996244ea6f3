package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
)

// WatchOptions select what a watch sees.
type WatchOptions struct {
	// ResourceVersion "" or "0": the current state as ADDED events, then
	// changes; "N": every change after revision N.
	ResourceVersion string
	Predicate       func(proto.Message) bool
	AllowBookmarks  bool
	// IndexValue, when set, is the value the store's IndexField must equal
	// for Predicate to hold (the watch's field selector requires it): the
	// watch cache then finds this watcher by it.
	IndexValue *string
}

// Watcher is an open watch. ResultChan closes when the watch ends: the
// caller stopped it, its context ended, it fell too far behind, or the
// server is stopping. Clients then watch again from their last revision.
type Watcher interface {
	ResultChan() <-chan Event
	Stop()
}

// watcherBuffer is how many events a watcher may lag before it is cut off.
const watcherBuffer = 1000

// waitForRevision bounds how long a watch from a future revision waits for
// the cache to get there.
const waitForRevision = 3 * time.Second

type watcher struct {
	cache     *cache
	prefix    string
	pred      func(proto.Message) bool
	bookmarks bool
	// namespace, indexed and indexValue are what the watch index files
	// the watcher under.
	namespace  string
	indexed    bool
	indexValue string
	ch         chan Event
	stopOnce   sync.Once
	// stopCtx unhooks Stop from the watch's context; stopMu guards it, as
	// a context that has already ended runs Stop at once, perhaps before
	// Watch has stored it.
	stopMu  sync.Mutex
	stopCtx func() bool
}

func (w *watcher) ResultChan() <-chan Event { return w.ch }

// Stop ends the watch.
func (w *watcher) Stop() {
	w.stopOnce.Do(func() {
		w.stopMu.Lock()
		unhook := w.stopCtx
		w.stopMu.Unlock()
		if unhook != nil {
			unhook()
		}
		w.cache.mu.Lock()
		w.cache.dropLocked(w)
		w.cache.mu.Unlock()
	})
}

// send queues an event without blocking; false means the watcher is full.
func (w *watcher) send(ev Event) bool {
	select {
	case w.ch <- ev:
		return true
	default:
		return false
	}
}

func (w *watcher) matches(obj proto.Message) bool {
	return obj != nil && (w.pred == nil || w.pred(obj))
}

// translate turns a change into the event this watcher sees, if any: an
// object that starts matching is ADDED, one that stops is DELETED.
func (w *watcher) translate(ch change) (Event, bool) {
	if !strings.HasPrefix(ch.key, w.prefix) {
		return Event{}, false
	}
	was, is := w.matches(ch.prev), w.matches(ch.obj)
	switch {
	case is && was:
		return Event{Type: EventModified, Object: proto.Clone(ch.obj)}, true
	case is:
		return Event{Type: EventAdded, Object: proto.Clone(ch.obj)}, true
	case was && ch.obj == nil:
		return Event{Type: EventDeleted, Object: proto.Clone(ch.prev)}, true
	case was:
		return Event{Type: EventDeleted, Object: proto.Clone(ch.obj)}, true
	}
	return Event{}, false
}

// Watch streams changes of a namespace (or all) from the watch cache.
func (s *Store) Watch(ctx context.Context, ns string, opts WatchOptions) (Watcher, error) {
	var from int64
	if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		n, err := strconv.ParseInt(opts.ResourceVersion, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resourceVersion %q: %w", opts.ResourceVersion, err)
		}
		from = n
	}
	c := s.cache
	w := &watcher{cache: c, prefix: s.scopePrefix(ns), pred: opts.Predicate, bookmarks: opts.AllowBookmarks}
	if s.cfg.Namespaced {
		w.namespace = ns
	}
	if opts.IndexValue != nil {
		w.indexed, w.indexValue = true, *opts.IndexValue
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if from > c.rev && !c.waitFor(from) {
		return nil, &Error{Code: CodeTooLargeResourceVersion, Message: fmt.Sprintf("Too large resource version: %d, current: %d", from, c.rev)}
	}
	initial, err := c.initialEvents(w, from)
	w.ch = make(chan Event, len(initial)+watcherBuffer)
	if err != nil {
		w.ch <- Event{Type: EventError, Err: err}
		close(w.ch)
		return w, nil
	}
	for _, ev := range initial {
		w.ch <- ev
	}
	c.watchers[w] = struct{}{}
	c.index.add(w)
	unhook := context.AfterFunc(ctx, w.Stop)
	w.stopMu.Lock()
	w.stopCtx = unhook
	w.stopMu.Unlock()
	return w, nil
}

// waitFor waits (c.mu held) until the cache has seen rev; false on timeout.
// It asks etcd for a progress notification, and again every 200ms while it
// waits: a request made while the cache's etcd watch is being set up is
// not answered.
func (c *cache) waitFor(rev int64) bool {
	deadline := time.Now().Add(waitForRevision)
	for c.rev < rev && time.Now().Before(deadline) {
		select {
		case c.progress <- struct{}{}:
		default: // a request is pending already
		}
		wake := time.AfterFunc(200*time.Millisecond, func() {
			c.mu.Lock()
			c.caughtUp.Broadcast()
			c.mu.Unlock()
		})
		c.caughtUp.Wait()
		wake.Stop()
	}
	return c.rev >= rev
}

// initialEvents is what a new watcher gets first (c.mu held): the current
// state for a watch from "now", or the changes after from.
func (c *cache) initialEvents(w *watcher, from int64) ([]Event, error) {
	var out []Event
	if from == 0 {
		for _, obj := range c.listLocked(w.prefix, w.pred).Items {
			out = append(out, Event{Type: EventAdded, Object: obj})
		}
		return out, nil
	}
	if from < c.oldest {
		return nil, expired(from, c.oldest)
	}
	for _, ch := range c.ring {
		if ch.rev <= from {
			continue
		}
		if ev, ok := w.translate(ch); ok {
			out = append(out, ev)
		}
	}
	return out, nil
}
