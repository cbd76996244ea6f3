package storage

import (
	"strings"

	"google.golang.org/protobuf/proto"
)

// watcherSet is a set of watchers.
type watcherSet map[*watcher]struct{}

// watchIndex finds the watchers a change may interest, so that a change
// costs in proportion to them rather than to every watcher: a watcher
// that selects the index field exactly is found by that value, one scoped
// to a namespace by its namespace, and only the rest by scanning. A
// watcher's own prefix and predicate still decide what it sees.
type watchIndex struct {
	namespaced bool
	prefix     string
	field      func(proto.Message) string
	off        bool

	unindexed   watcherSet
	byNamespace map[string]watcherSet
	byValue     map[string]watcherSet
}

func newWatchIndex(cfg Config, prefix string) *watchIndex {
	return &watchIndex{namespaced: cfg.Namespaced, prefix: prefix, field: cfg.IndexFunc, off: cfg.NoWatchIndex,
		unindexed: watcherSet{}, byNamespace: map[string]watcherSet{}, byValue: map[string]watcherSet{}}
}

// bucket is the set w belongs to, and its key in a map, if any.
func (x *watchIndex) bucket(w *watcher) (map[string]watcherSet, string) {
	switch {
	case x.off:
		return nil, ""
	case w.indexed && x.field != nil:
		return x.byValue, w.indexValue
	case w.namespace != "":
		return x.byNamespace, w.namespace
	}
	return nil, ""
}

func (x *watchIndex) add(w *watcher) {
	m, key := x.bucket(w)
	if m == nil {
		x.unindexed[w] = struct{}{}
		return
	}
	set := m[key]
	if set == nil {
		set = watcherSet{}
		m[key] = set
	}
	set[w] = struct{}{}
}

func (x *watchIndex) remove(w *watcher) {
	m, key := x.bucket(w)
	if m == nil {
		delete(x.unindexed, w)
		return
	}
	delete(m[key], w)
	if len(m[key]) == 0 {
		delete(m, key)
	}
}

// each calls f for every watcher that may be interested in ch: the
// unindexed ones, those of the change's namespace, and those of the index
// value of both the old and the new object, so a watcher sees an object
// leave its selection as well as enter it. f may remove the watcher.
func (x *watchIndex) each(ch change, f func(*watcher)) {
	for w := range x.unindexed {
		f(w)
	}
	if x.off {
		return
	}
	if x.namespaced {
		if ns, _, ok := strings.Cut(strings.TrimPrefix(ch.key, x.prefix), "/"); ok {
			for w := range x.byNamespace[ns] {
				f(w)
			}
		}
	}
	if x.field == nil || len(x.byValue) == 0 {
		return
	}
	var now, was string
	if ch.obj != nil {
		now = x.field(ch.obj)
		for w := range x.byValue[now] {
			f(w)
		}
	}
	if ch.prev != nil {
		if was = x.field(ch.prev); ch.obj == nil || was != now {
			for w := range x.byValue[was] {
				f(w)
			}
		}
	}
}
