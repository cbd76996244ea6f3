package storage

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// Event types.
const (
	EventAdded    = "ADDED"
	EventModified = "MODIFIED"
	EventDeleted  = "DELETED"
	EventBookmark = "BOOKMARK"
	EventError    = "ERROR"
)

// Event is one change seen by a watch. An ERROR event carries Err.
type Event struct {
	Type   string
	Object proto.Message
	Err    error
}

// change is one etcd change as the cache keeps it.
type change struct {
	key  string
	rev  int64
	obj  proto.Message // nil for a delete
	prev proto.Message // nil for a create
}

// cache mirrors one resource's keys from a single etcd watch and fans
// changes out to its watchers.
type cache struct {
	store *Store
	done  chan struct{}

	mu       sync.Mutex
	caughtUp *sync.Cond
	// progress asks the etcd watch for a progress notification, which
	// moves rev to etcd's current revision when no change of ours is
	// pending: a watch from a revision newer than our last change waits
	// for it.
	progress chan struct{}
	rev      int64                    // latest revision applied
	oldest   int64                    // changes after this revision are all in ring
	objects  map[string]proto.Message // current state by key
	ring     []change                 // recent changes, oldest first
	watchers map[*watcher]struct{}
	index    *watchIndex // the watchers again, by what they select
	// BookmarkInterval is how often watchers that allow bookmarks get one.
	bookmarkInterval time.Duration
}

func newCache(s *Store) *cache {
	c := &cache{store: s, done: make(chan struct{}), objects: map[string]proto.Message{},
		watchers: map[*watcher]struct{}{}, bookmarkInterval: time.Minute}
	c.caughtUp = sync.NewCond(&c.mu)
	c.index = newWatchIndex(s.cfg, s.prefix)
	c.progress = make(chan struct{}, 1)
	return c
}

// start lists the current state and the history before it (history.go),
// then follows etcd until ctx ends.
func (c *cache) start(ctx context.Context) error {
	rev, err := c.relist(ctx)
	if err != nil {
		close(c.done)
		return err
	}
	c.backfill(ctx, rev)
	go c.run(ctx, rev)
	return nil
}

// relist reads the whole resource and replaces the cached state; watchers
// get the differences as events.
func (c *cache) relist(ctx context.Context) (int64, error) {
	resp, err := c.store.kv.Get(ctx, c.store.prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("list %s for the watch cache: %w", c.store.prefix, err)
	}
	fresh := make(map[string]proto.Message, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		obj, err := c.store.decode(ctx, string(kv.Key), kv.Value, kv.ModRevision)
		if err != nil {
			return 0, err
		}
		fresh[string(kv.Key)] = obj
	}
	rev := resp.Header.Revision
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, obj := range fresh {
		if old, ok := c.objects[key]; !ok || meta(old).GetResourceVersion() != meta(obj).GetResourceVersion() {
			c.apply(change{key: key, rev: rev, obj: obj, prev: old})
		}
	}
	for key, old := range c.objects {
		if _, ok := fresh[key]; !ok {
			gone := proto.Clone(old)
			meta(gone).ResourceVersion = fmt.Sprint(rev)
			c.apply(change{key: key, rev: rev, prev: gone})
		}
	}
	c.rev, c.oldest = rev, rev
	c.ring = c.ring[:0]
	c.caughtUp.Broadcast()
	return rev, nil
}

func (c *cache) run(ctx context.Context, rev int64) {
	defer close(c.done)
	defer c.closeAll()
	bookmarks := time.NewTicker(c.bookmarkInterval)
	defer bookmarks.Stop()
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := c.store.cfg.Client.Watch(wctx, c.store.prefix, clientv3.WithPrefix(),
			clientv3.WithRev(rev+1), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
		rev = c.follow(ctx, wctx, wch, bookmarks.C, rev)
		cancel()
		if ctx.Err() != nil {
			return
		}
		var err error
		if rev, err = c.relist(ctx); err != nil {
			if ctx.Err() != nil {
				return // stopping: not a failure
			}
			slog.WarnContext(ctx, "watch cache relist failed", "prefix", c.store.prefix, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// follow applies etcd watch responses until the watch breaks; it returns
// the last revision applied.
func (c *cache) follow(ctx, wctx context.Context, wch clientv3.WatchChan, bookmarks <-chan time.Time, rev int64) int64 {
	for {
		select {
		case <-ctx.Done():
			return rev
		case <-bookmarks:
			c.bookmarkAll()
		case <-c.progress:
			if err := c.store.cfg.Client.RequestProgress(wctx); err != nil {
				slog.InfoContext(ctx, "watch cache could not ask etcd for progress", "prefix", c.store.prefix, "err", err)
			}
		case resp, ok := <-wch:
			if !ok || resp.Err() != nil {
				if ok {
					slog.InfoContext(ctx, "watch cache lost its etcd watch", "prefix", c.store.prefix, "err", resp.Err())
				}
				return rev
			}
			rev = c.applyResponse(resp)
		}
	}
}

func (c *cache) applyResponse(resp clientv3.WatchResponse) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range resp.Events {
		ch, err := c.changeOf(ev)
		if err != nil {
			slog.Error("watch cache cannot decode a change", "key", string(ev.Kv.Key), "err", err)
			continue
		}
		c.apply(ch)
		c.rev = ch.rev
	}
	if resp.IsProgressNotify() && resp.Header.Revision > c.rev {
		c.rev = resp.Header.Revision
	}
	c.caughtUp.Broadcast()
	return c.rev
}

func (c *cache) changeOf(ev *clientv3.Event) (change, error) {
	key := string(ev.Kv.Key)
	ch := change{key: key, rev: ev.Kv.ModRevision, prev: c.objects[key]}
	if ev.Type == mvccpb.PUT {
		obj, err := c.store.decode(context.Background(), key, ev.Kv.Value, ev.Kv.ModRevision)
		if err != nil {
			return ch, err
		}
		ch.obj = obj
		return ch, nil
	}
	if ev.PrevKv != nil {
		prev, err := c.store.decode(context.Background(), key, ev.PrevKv.Value, ev.Kv.ModRevision)
		if err != nil {
			return ch, err
		}
		ch.prev = prev
	} else if ch.prev != nil {
		ch.prev = proto.Clone(ch.prev)
		meta(ch.prev).ResourceVersion = fmt.Sprint(ev.Kv.ModRevision)
	}
	return ch, nil
}

// apply records a change and sends it to the watchers; c.mu is held.
func (c *cache) apply(ch change) {
	if ch.obj != nil {
		c.objects[ch.key] = ch.obj
	} else {
		delete(c.objects, ch.key)
	}
	c.ring = append(c.ring, ch)
	if over := len(c.ring) - c.store.cfg.WatchCacheSize; over > 0 {
		c.oldest = c.ring[over-1].rev
		c.ring = append(c.ring[:0], c.ring[over:]...)
	}
	c.index.each(ch, func(w *watcher) {
		if ev, ok := w.translate(ch); ok && !w.send(ev) {
			c.dropLocked(w)
		}
	})
}

// list serves a list from the cache (resourceVersion "0").
func (c *cache) list(prefix string, pred func(proto.Message) bool) *ListResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listLocked(prefix, pred)
}

func (c *cache) listLocked(prefix string, pred func(proto.Message) bool) *ListResult {
	keys := make([]string, 0, len(c.objects))
	for k := range c.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	res := &ListResult{ResourceVersion: c.rev}
	for _, k := range keys {
		if obj := c.objects[k]; pred == nil || pred(obj) {
			res.Items = append(res.Items, proto.Clone(obj))
		}
	}
	return res
}

func (c *cache) bookmarkAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.watchers {
		if w.wantsBookmark(c.rev) && !w.send(Event{Type: EventBookmark, Object: c.bookmarkObject()}) {
			c.dropLocked(w)
		}
	}
}

func (c *cache) bookmarkObject() proto.Message {
	obj := c.store.cfg.NewFunc()
	meta(obj).ResourceVersion = fmt.Sprint(c.rev)
	return obj
}

func (c *cache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.watchers {
		c.dropLocked(w)
	}
}

func (c *cache) dropLocked(w *watcher) {
	if _, ok := c.watchers[w]; ok {
		delete(c.watchers, w)
		c.index.remove(w)
		close(w.ch)
	}
}
