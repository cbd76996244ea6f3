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

// defaultResourceVersionWait is how long a read that must be at least as
// new as a revision waits for the watch cache to get there, as
// Kubernetes' watch cache waits (3 s) before it answers "Too large
// resource version".
const defaultResourceVersionWait = 3 * time.Second

// progressRetry is how often a wait asks etcd for progress again: a
// request made while the cache's etcd watch is being set up is not
// answered.
const progressRetry = 200 * time.Millisecond

// tooLargeRetryAfter is the Retry-After, in seconds, of a read that
// waited in vain, as Kubernetes' watch cache sets it.
const tooLargeRetryAfter = 1

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
	// from is the revision the watch starts after: changes at or before
	// it are not sent (a watch from a revision the cache has not reached
	// yet waits for the changes after it).
	from     int64
	ch       chan Event
	stopOnce sync.Once
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

// wantsBookmark tells whether the watcher takes a bookmark at rev: it asked
// for bookmarks and rev is not before where it starts.
func (w *watcher) wantsBookmark(rev int64) bool { return w.bookmarks && rev >= w.from }

func (w *watcher) matches(obj proto.Message) bool {
	return obj != nil && (w.pred == nil || w.pred(obj))
}

// translate turns a change into the event this watcher sees, if any: an
// object that starts matching is ADDED, one that stops is DELETED.
func (w *watcher) translate(ch change) (Event, bool) {
	if ch.rev <= w.from || !strings.HasPrefix(ch.key, w.prefix) {
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

// Watch streams changes of a namespace (or all) from the watch cache. A
// watch from a revision the cache has not reached yet does not wait: it
// gets the changes after that revision as they come, as Kubernetes'
// watches do.
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
	initial, err := c.initialEvents(w, from)
	w.from = max(from, c.rev)
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

// Revision is the revision the watch cache has reached: a watch from it
// starts "now" without the current state.
func (s *Store) Revision() int64 {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.rev
}

// waitFresh waits (c.mu held) until the cache has seen rev, at most the
// store's ResourceVersionWait; then it answers "Too large resource
// version". It asks etcd for a progress notification, and again every
// progressRetry while it waits, so that a revision of another resource
// is reached too.
func (c *cache) waitFresh(ctx context.Context, rev int64) error {
	if c.rev >= rev {
		return nil
	}
	timedOut := false
	wake := func(timeout bool) func() {
		return func() {
			c.mu.Lock()
			timedOut = timedOut || timeout
			c.caughtUp.Broadcast()
			c.mu.Unlock()
		}
	}
	deadline := time.AfterFunc(c.store.cfg.ResourceVersionWait, wake(true))
	defer deadline.Stop()
	unhook := context.AfterFunc(ctx, wake(false))
	defer unhook()
	for c.rev < rev && !timedOut && ctx.Err() == nil {
		select {
		case c.progress <- struct{}{}:
		default: // a request is pending already
		}
		retry := time.AfterFunc(progressRetry, wake(false))
		c.caughtUp.Wait()
		retry.Stop()
	}
	switch {
	case c.rev >= rev:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("wait for resourceVersion %d: %w", rev, ctx.Err())
	}
	return tooLarge(rev, c.rev, tooLargeRetryAfter)
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
