package storage

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/etcd"
)

type protoCodec struct{}

func (protoCodec) Encode(obj proto.Message) ([]byte, error)     { return proto.Marshal(obj) }
func (protoCodec) Decode(data []byte, into proto.Message) error { return proto.Unmarshal(data, into) }

func newStore(t *testing.T) (*Store, *etcd.Embedded) {
	t.Helper()
	return newStoreWith(t, func(*Config) {})
}

// newStoreWith is newStore with its Config changed by edit first.
func newStoreWith(t *testing.T, edit func(*Config)) (*Store, *etcd.Embedded) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs embedded etcd")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Client: e.Client(), Group: "test", Resource: "things", Namespaced: true,
		NewFunc: func() proto.Message { return &metav1.PartialObjectMetadata{} }, Codec: protoCodec{}, WatchCacheSize: 50}
	edit(&cfg)
	s := New(cfg)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-s.Done(); _ = e.Close() })
	return s, e
}

func obj(ns, name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}}}
}

func TestCreateGetUpdateDelete(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	created, err := s.Create(ctx, obj("a", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if meta(created).GetResourceVersion() == "" {
		t.Error("got no resourceVersion on create")
	}
	if _, err := s.Create(ctx, obj("a", "x")); !IsAlreadyExists(err) {
		t.Errorf("second create: got %v, want AlreadyExists", err)
	}
	if _, err := s.Get(ctx, "a", "missing"); !IsNotFound(err) {
		t.Errorf("get missing: got %v, want NotFound", err)
	}
	same, err := s.Update(ctx, "a", "x", func(cur proto.Message) (proto.Message, error) { return cur, nil })
	if err != nil || meta(same).GetResourceVersion() != meta(created).GetResourceVersion() {
		t.Errorf("no-op update: got rv %s %v, want %s", meta(same).GetResourceVersion(), err, meta(created).GetResourceVersion())
	}
	// Concurrent increments never lose an update.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, "a", "x", func(cur proto.Message) (proto.Message, error) {
				m := meta(cur)
				n, _ := strconv.Atoi(m.Labels["n"])
				if m.Labels == nil {
					m.Labels = map[string]string{}
				}
				m.Labels["n"] = strconv.Itoa(n + 1)
				return cur, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := s.Get(ctx, "a", "x")
	if n := meta(got).Labels["n"]; n != "10" {
		t.Errorf("after 10 concurrent increments: got n=%s, want 10", n)
	}
	refuse := fmt.Errorf("no")
	if _, err := s.Delete(ctx, "a", "x", func(proto.Message) error { return refuse }); err != refuse {
		t.Errorf("delete with failing precondition: got %v, want the precondition's error", err)
	}
	gone, err := s.Delete(ctx, "a", "x", nil)
	if err != nil || meta(gone).GetName() != "x" {
		t.Fatalf("delete: got %v %v", gone, err)
	}
	if _, err := s.Get(ctx, "a", "x"); !IsNotFound(err) {
		t.Errorf("get after delete: got %v, want NotFound", err)
	}
}

func TestListPaging(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		o := obj("a", fmt.Sprintf("x%d", i))
		if i%2 == 0 {
			o.Metadata.Labels["even"] = "true"
		}
		if _, err := s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, obj("b", "other")); err != nil {
		t.Fatal(err)
	}
	even := func(o proto.Message) bool { return meta(o).Labels["even"] == "true" }
	for _, tc := range []struct {
		name  string
		pred  func(proto.Message) bool
		limit int64
		want  int
	}{{"all", nil, 3, 7}, {"filtered", even, 2, 4}, {"unpaged", nil, 0, 7}} {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			opts := ListOptions{Limit: tc.limit, Predicate: tc.pred}
			pages := 0
			for {
				res, err := s.List(ctx, "a", opts)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, it := range res.Items {
					names = append(names, meta(it).GetName())
				}
				if res.Continue == "" {
					break
				}
				opts.Continue = res.Continue
			}
			if len(names) != tc.want {
				t.Errorf("got %v in %d pages, want %d items", names, pages, tc.want)
			}
		})
	}
}

func nextEvent(t *testing.T, w Watcher) Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return Event{}
}

func TestWatchReplayPredicateAndExpiry(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	first, _ := s.Create(ctx, obj("a", "x"))
	rv := meta(first).GetResourceVersion()
	labelled := obj("a", "y")
	labelled.Metadata.Labels["pick"] = "me"
	if _, err := s.Create(ctx, labelled); err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, "a", WatchOptions{ResourceVersion: rv})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if ev := nextEvent(t, w); ev.Type != EventAdded || meta(ev.Object).GetName() != "y" {
		t.Errorf("replay: got %s %s, want ADDED y", ev.Type, meta(ev.Object).GetName())
	}
	pick := func(o proto.Message) bool { return meta(o).Labels["pick"] == "me" }
	pw, err := s.Watch(ctx, "", WatchOptions{Predicate: pick})
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Stop()
	if ev := nextEvent(t, pw); ev.Type != EventAdded || meta(ev.Object).GetName() != "y" {
		t.Errorf("initial state: got %s %s, want ADDED y", ev.Type, meta(ev.Object).GetName())
	}
	if _, err := s.Update(ctx, "a", "y", func(cur proto.Message) (proto.Message, error) {
		delete(meta(cur).Labels, "pick")
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, pw); ev.Type != EventDeleted {
		t.Errorf("object stopped matching: got %s, want DELETED", ev.Type)
	}
	if ev := nextEvent(t, w); ev.Type != EventModified {
		t.Errorf("unfiltered watch: got %s, want MODIFIED", ev.Type)
	}
	if _, err := s.Delete(ctx, "a", "x", nil); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, w)
	if ev.Type != EventDeleted || meta(ev.Object).GetName() != "x" || meta(ev.Object).GetResourceVersion() == rv {
		t.Errorf("delete: got %s %s rv %s, want DELETED x with the delete's revision", ev.Type, meta(ev.Object).GetName(), meta(ev.Object).GetResourceVersion())
	}
	// Push the first revision out of the 50-event window: 410.
	for i := 0; i < 60; i++ {
		if _, err := s.Update(ctx, "a", "y", func(cur proto.Message) (proto.Message, error) {
			meta(cur).Labels = map[string]string{"i": strconv.Itoa(i)}
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	expectExpired := func() error {
		old, err := s.Watch(ctx, "a", WatchOptions{ResourceVersion: rv})
		if err != nil {
			return err
		}
		defer old.Stop()
		ev := nextEvent(t, old)
		if ev.Type != EventError || !IsExpired(ev.Err) {
			return fmt.Errorf("got %s %v, want ERROR Expired", ev.Type, ev.Err)
		}
		return nil
	}
	if err := expectExpired(); err != nil {
		t.Error(err)
	}
}

func TestSlowWatcherDoesNotBlockOthers(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	slow, _ := s.Watch(ctx, "", WatchOptions{})
	defer slow.Stop()
	fast, _ := s.Watch(ctx, "", WatchOptions{})
	defer fast.Stop()
	n := watcherBuffer + 10
	done := make(chan int)
	go func() {
		seen := 0
		for range fast.ResultChan() {
			seen++
			if seen == n {
				break
			}
		}
		done <- seen
	}()
	for i := 0; i < n; i++ {
		if _, err := s.Create(ctx, obj("a", fmt.Sprintf("o%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-done; got != n {
		t.Errorf("fast watcher: got %d events, want %d", got, n)
	}
	count := 0
	for range slow.ResultChan() {
		count++
	}
	if count >= n {
		t.Errorf("slow watcher: got %d events, want it cut off before %d", count, n)
	}
}

func TestRestartKeepsData(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	dir := t.TempDir()
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: dir})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		s := New(Config{Client: e.Client(), Group: "test", Resource: "things", Namespaced: true,
			NewFunc: func() proto.Message { return &metav1.PartialObjectMetadata{} }, Codec: protoCodec{}})
		if round == 0 {
			_, err = s.Create(ctx, obj("a", "kept"))
		} else {
			_, err = s.Get(ctx, "a", "kept")
		}
		_ = e.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

func TestWatchFromARevisionOfAnotherResource(t *testing.T) {
	s, e := newStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, obj("a", "x")); err != nil {
		t.Fatal(err)
	}
	// Writes outside this store move etcd's revision past the cache's last
	// change; a client that listed elsewhere may watch from there (kubectl
	// rollout status does). The cache asks etcd for progress and serves it.
	var rev int64
	for i := 0; i < 5; i++ {
		resp, err := e.Client().Put(ctx, fmt.Sprintf("/registry/other/thing-%d", i), "v")
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	w, err := s.Watch(ctx, "a", WatchOptions{ResourceVersion: strconv.FormatInt(rev, 10)})
	if err != nil {
		t.Fatalf("watch from revision %d: %v", rev, err)
	}
	defer w.Stop()
	if _, err := s.Create(ctx, obj("a", "y")); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, w); ev.Type != EventAdded || meta(ev.Object).GetName() != "y" {
		t.Fatalf("got %s %s, want ADDED y", ev.Type, meta(ev.Object).GetName())
	}
}

// TestWatchResumesOnACacheStartedLater: a second store on the same etcd,
// started after a client's revision (another apiserver, restarted), lets
// the client's watch resume from it with every change since, instead of
// 410 Expired.
func TestWatchResumesOnACacheStartedLater(t *testing.T) {
	s, e := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := s.Create(ctx, obj("a", "x"))
	if err != nil {
		t.Fatal(err)
	}
	rv := meta(first).GetResourceVersion()
	if _, err := s.Create(ctx, obj("a", "y")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "a", "x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client().Put(ctx, "/registry/other/thing", "v"); err != nil {
		t.Fatal(err)
	}
	later := New(Config{Client: e.Client(), Group: "test", Resource: "things", Namespaced: true,
		NewFunc: func() proto.Message { return &metav1.PartialObjectMetadata{} }, Codec: protoCodec{}, WatchCacheSize: 50})
	if err := later.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := later.Watch(ctx, "a", WatchOptions{ResourceVersion: rv})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, want := range []string{EventAdded + " y", EventDeleted + " x"} {
		ev := nextEvent(t, w)
		if ev.Type == EventError {
			t.Fatalf("got ERROR %v, want %s", ev.Err, want)
		}
		if got := ev.Type + " " + meta(ev.Object).GetName(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}

// TestCacheStartsAfterCompaction: a cache whose history is compacted
// starts from what is left of it.
func TestCacheStartsAfterCompaction(t *testing.T) {
	s, e := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var revs []string
	for _, name := range []string{"x", "y", "z"} {
		created, err := s.Create(ctx, obj("a", name))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, meta(created).GetResourceVersion())
	}
	compactAt, _ := strconv.ParseInt(revs[1], 10, 64)
	if _, err := e.Client().Compact(ctx, compactAt); err != nil {
		t.Fatal(err)
	}
	later := New(Config{Client: e.Client(), Group: "test", Resource: "things", Namespaced: true,
		NewFunc: func() proto.Message { return &metav1.PartialObjectMetadata{} }, Codec: protoCodec{}, WatchCacheSize: 50})
	if err := later.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := later.Watch(ctx, "a", WatchOptions{ResourceVersion: revs[1]})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, w); ev.Type != EventAdded || meta(ev.Object).GetName() != "z" {
		t.Errorf("from the compaction: got %s %v, want ADDED z", ev.Type, ev.Err)
	}
	w.Stop()
	old, err := later.Watch(ctx, "a", WatchOptions{ResourceVersion: revs[0]})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Stop()
	if ev := nextEvent(t, old); ev.Type != EventError || !IsExpired(ev.Err) {
		t.Errorf("before the compaction: got %s %v, want ERROR Expired", ev.Type, ev.Err)
	}
}
