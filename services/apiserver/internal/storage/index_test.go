package storage

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestWatchIndex checks that watchers found through the namespace and
// field indexes see exactly what a scan of every watcher gives them: an
// object moving onto a node is ADDED for that node's watcher, one moving
// off is DELETED, and unindexed watchers still get all they match.
func TestWatchIndex(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  bool
	}{{"indexed", false}, {"scan", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStoreWith(t, func(cfg *Config) {
				cfg.IndexField = "node"
				cfg.IndexFunc = func(o proto.Message) string { return meta(o).GetLabels()["node"] }
				cfg.NoWatchIndex = tc.off
			})
			checkWatchIndex(t, s)
		})
	}
}

func checkWatchIndex(t *testing.T, s *Store) {
	ctx := context.Background()
	onNode := func(n string) func(proto.Message) bool {
		return func(o proto.Message) bool { return meta(o).GetLabels()["node"] == n }
	}
	a, b := "A", "B"
	watchers := []struct {
		name string
		ns   string
		opts WatchOptions
		want []string
	}{
		{"node A", "", WatchOptions{Predicate: onNode(a), IndexValue: &a},
			[]string{"ADDED a/p1", "ADDED b/p2", "DELETED a/p1", "DELETED b/p2"}},
		{"node B", "", WatchOptions{Predicate: onNode(b), IndexValue: &b},
			[]string{"ADDED a/p1", "DELETED a/p1"}},
		{"namespace a", "a", WatchOptions{},
			[]string{"ADDED a/p1", "MODIFIED a/p1", "MODIFIED a/p1", "DELETED a/p1"}},
		{"namespace a, node A", "a", WatchOptions{Predicate: onNode(a), IndexValue: &a},
			[]string{"ADDED a/p1", "DELETED a/p1"}},
		{"node A unindexed", "", WatchOptions{Predicate: onNode(a)},
			[]string{"ADDED a/p1", "ADDED b/p2", "DELETED a/p1", "DELETED b/p2"}},
		{"everything", "", WatchOptions{},
			[]string{"ADDED a/p1", "MODIFIED a/p1", "ADDED b/p2", "MODIFIED a/p1", "DELETED b/p2", "DELETED a/p1"}},
	}
	open := make([]Watcher, len(watchers))
	for i, w := range watchers {
		var err error
		if open[i], err = s.Watch(ctx, w.ns, w.opts); err != nil {
			t.Fatal(err)
		}
		defer open[i].Stop()
	}
	setNode := func(ns, name, node string) {
		t.Helper()
		if _, err := s.Update(ctx, ns, name, func(cur proto.Message) (proto.Message, error) {
			meta(cur).Labels = map[string]string{"node": node}
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	mustDo := func(_ proto.Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(s.Create(ctx, obj("a", "p1")))
	setNode("a", "p1", "A")
	p2 := obj("b", "p2")
	p2.Metadata.Labels["node"] = "A"
	mustDo(s.Create(ctx, p2))
	setNode("a", "p1", "B")
	mustDo(s.Delete(ctx, "b", "p2", nil))
	mustDo(s.Delete(ctx, "a", "p1", nil))
	// Changes reach every watcher under one lock, so once each has its
	// expected events, none can have an extra one still to come.
	for i, w := range watchers {
		for j, want := range w.want {
			ev := nextEvent(t, open[i])
			if got := ev.Type + " " + meta(ev.Object).GetNamespace() + "/" + meta(ev.Object).GetName(); got != want {
				t.Errorf("%s: event %d is %q, want %q", w.name, j, got, want)
			}
		}
	}
	for i, w := range watchers {
		select {
		case ev := <-open[i].ResultChan():
			t.Errorf("%s: unexpected %s %s", w.name, ev.Type, meta(ev.Object).GetName())
		default:
		}
	}
}

// TestWatchIndexVisits checks that a change visits only the watchers of
// its namespace and of its old and new index values, besides the
// unindexed ones.
func TestWatchIndexVisits(t *testing.T) {
	x := newWatchIndex(Config{Namespaced: true,
		IndexFunc: func(o proto.Message) string { return meta(o).GetLabels()["node"] }}, "/registry/p/")
	named := map[*watcher]string{}
	for _, w := range []struct{ name, ns, node string }{
		{"A", "", "A"}, {"B", "", "B"}, {"C", "", "C"}, {"ns a", "a", ""}, {"ns b", "b", ""}, {"all", "", ""},
	} {
		wt := &watcher{namespace: w.ns, indexed: w.node != "", indexValue: w.node}
		named[wt] = w.name
		x.add(wt)
	}
	onNode := func(node string) proto.Message {
		o := obj("a", "p")
		o.Metadata.Labels["node"] = node
		return o
	}
	for _, tc := range []struct {
		name string
		ch   change
		want []string
	}{
		{"create on A", change{key: "/registry/p/a/p", obj: onNode("A")}, []string{"A", "all", "ns a"}},
		{"move A to B", change{key: "/registry/p/a/p", obj: onNode("B"), prev: onNode("A")}, []string{"A", "B", "all", "ns a"}},
		{"update on B", change{key: "/registry/p/a/p", obj: onNode("B"), prev: onNode("B")}, []string{"B", "all", "ns a"}},
		{"delete from C", change{key: "/registry/p/a/p", prev: onNode("C")}, []string{"C", "all", "ns a"}},
		{"namespace b", change{key: "/registry/p/b/p", obj: onNode("")}, []string{"all", "ns b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]bool{}
			x.each(tc.ch, func(w *watcher) { got[named[w]] = true })
			if len(got) != len(tc.want) {
				t.Errorf("visited %v, want %v", got, tc.want)
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("visited %v, want %v", got, tc.want)
				}
			}
		})
	}
}
