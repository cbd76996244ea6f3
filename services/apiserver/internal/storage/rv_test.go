package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rvStore is a store whose reads wait at most a short time for a revision
// the cache has not reached, so that a test sees the bounded wait end
// without sleeping through Kubernetes' 3 s.
func rvStore(t *testing.T) (*Store, int64) {
	t.Helper()
	s, e := newStoreWith(t, func(c *Config) { c.ResourceVersionWait = 100 * time.Millisecond })
	ctx := context.Background()
	created, err := s.Create(ctx, obj("a", "x"))
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(meta(created).GetResourceVersion(), 10, 64)
	// Writes of another resource move etcd past this store's last change.
	for i := 0; i < 3; i++ {
		resp, err := e.Client().Put(ctx, fmt.Sprintf("/registry/other/thing-%d", i), "v")
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	return s, rev
}

func TestReadsOfAFutureRevisionWaitABoundedTime(t *testing.T) {
	s, current := rvStore(t)
	ctx := context.Background()
	future := strconv.FormatInt(current+1000, 10)
	tests := []struct {
		name       string
		read       func() error
		retryAfter int32
	}{
		{"list not older than", func() error {
			_, err := s.List(ctx, "a", ListOptions{ResourceVersion: future})
			return err
		}, tooLargeRetryAfter},
		{"list not older than, paged", func() error {
			_, err := s.List(ctx, "a", ListOptions{ResourceVersion: future, ResourceVersionMatch: MatchNotOlderThan, Limit: 1})
			return err
		}, tooLargeRetryAfter},
		{"get not older than", func() error {
			_, err := s.GetAt(ctx, "a", "x", future)
			return err
		}, tooLargeRetryAfter},
		// An exact read goes to etcd, which refuses a future revision at once.
		{"list exact", func() error {
			_, err := s.List(ctx, "a", ListOptions{ResourceVersion: future, ResourceVersionMatch: MatchExact})
			return err
		}, 0},
		{"list paged at a revision", func() error {
			_, err := s.List(ctx, "a", ListOptions{ResourceVersion: future, Limit: 1})
			return err
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.read()
			se, ok := AsError(err)
			if !ok || se.Code != CodeTooLargeResourceVersion {
				t.Fatalf("got %v, want Too large resource version", err)
			}
			want := "Too large resource version: " + future + ", current: "
			if !strings.HasPrefix(se.Message, want) || se.RetryAfterSeconds != tt.retryAfter {
				t.Errorf("got %q retry after %d, want %q... retry after %d", se.Message, se.RetryAfterSeconds, want, tt.retryAfter)
			}
		})
	}
}

func TestReadsNotOlderThanARevisionSeeIt(t *testing.T) {
	s, current := rvStore(t)
	ctx := context.Background()
	// The cache reaches etcd's revision through a progress notification:
	// the last writes were of another resource.
	rv := strconv.FormatInt(current, 10)
	res, err := s.List(ctx, "a", ListOptions{ResourceVersion: rv, ResourceVersionMatch: MatchNotOlderThan})
	if err != nil || res.ResourceVersion < current || len(res.Items) != 1 {
		t.Fatalf("got %v, %v, want x at a revision of at least %d", res, err, current)
	}
	if _, err := s.GetAt(ctx, "a", "x", rv); err != nil {
		t.Fatalf("get not older than %d: %v", current, err)
	}
	// A read at the revision of a write just made waits until the cache
	// has applied it, and sees it.
	created, err := s.Create(ctx, obj("a", "y"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAt(ctx, "a", "y", meta(created).GetResourceVersion())
	if err != nil || meta(got).GetName() != "y" {
		t.Fatalf("got %v, %v, want y", got, err)
	}
}

func TestExactAndContinuedListsOfACompactedRevision(t *testing.T) {
	s, e := newStore(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := s.Create(ctx, obj("a", fmt.Sprintf("x%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.List(ctx, "a", ListOptions{Limit: 1})
	if err != nil || first.Continue == "" {
		t.Fatalf("got %v, %v, want a first page", first, err)
	}
	old := strconv.FormatInt(first.ResourceVersion, 10)
	latest, err := s.Create(ctx, obj("a", "z-later"))
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(meta(latest).GetResourceVersion(), 10, 64)
	if _, err := e.Client().Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	_, err = s.List(ctx, "a", ListOptions{ResourceVersion: old, ResourceVersionMatch: MatchExact})
	if se, ok := AsError(err); !ok || se.Code != CodeExpired || se.Message != tooOldList {
		t.Errorf("exact list of a compacted revision: got %v, want %q", err, tooOldList)
	}
	_, err = s.List(ctx, "a", ListOptions{Limit: 1, Continue: first.Continue})
	se, ok := AsError(err)
	if !ok || se.Code != CodeExpired || se.Message != inconsistentContinue || se.Continue == "" {
		t.Fatalf("continue at a compacted revision: got %v, want %q with a new token", err, inconsistentContinue)
	}
	// The new token goes on at the latest revision.
	rest, err := s.List(ctx, "a", ListOptions{Continue: se.Continue})
	if err != nil || len(rest.Items) != 3 || rest.ResourceVersion < rev {
		t.Errorf("got %v, %v, want x1, x2 and z-later at %d or newer", rest, err, rev)
	}
}

func TestContinueTokens(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := s.Create(ctx, obj("a", fmt.Sprintf("x%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.List(ctx, "a", ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts ListOptions
		want string
	}{
		{"with a resourceVersion", ListOptions{Continue: page.Continue, ResourceVersion: "5"}, "specifying resource version is not allowed when using continue"},
		{"not issued", ListOptions{Continue: "bm90IGEgdG9rZW4"}, "invalid continue token: "},
		{"of another namespace", ListOptions{Continue: page.Continue}, "invalid continue token: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := "a"
			if tt.name == "of another namespace" {
				ns = "b"
			}
			_, err := s.List(ctx, ns, tt.opts)
			if se, ok := AsError(err); !ok || se.Code != CodeBadRequest || !strings.HasPrefix(se.Message, tt.want) {
				t.Errorf("got %v, want a bad request %q", err, tt.want)
			}
		})
	}
	// "0" beside a token is taken as the token alone, as Kubernetes does.
	if _, err := s.List(ctx, "a", ListOptions{Continue: page.Continue, ResourceVersion: "0"}); err != nil {
		t.Errorf("continue with resourceVersion 0: %v", err)
	}
}

func TestWatchFromAFutureRevisionWaitsForIt(t *testing.T) {
	s, current := rvStore(t)
	ctx := context.Background()
	// Kubernetes lets such a watch wait (until its timeout) for the
	// changes after its revision: nothing at or before it arrives.
	from := current + 2
	w, err := s.Watch(ctx, "a", WatchOptions{ResourceVersion: strconv.FormatInt(from, 10), AllowBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	s.cache.bookmarkAll() // a bookmark before the watch's revision is not sent
	var last string
	for i := 0; i < 3; i++ {
		o, err := s.Create(ctx, obj("a", fmt.Sprintf("n%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		last = meta(o).GetName()
	}
	ev := nextEvent(t, w)
	if ev.Type != EventAdded || meta(ev.Object).GetName() != last {
		t.Fatalf("got %s %s, want ADDED %s only (changes after %d)", ev.Type, meta(ev.Object).GetName(), last, from)
	}
}
