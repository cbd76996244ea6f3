package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestPagedListIsOneSnapshot checks that the pages of a list, from the
// watch cache's resourceVersion "0" or from the latest state, are one
// snapshot at the first page's revision: objects created, changed or
// deleted between pages do not show.
func TestPagedListIsOneSnapshot(t *testing.T) {
	for _, rv := range []string{"0", ""} {
		t.Run("resourceVersion="+rv, func(t *testing.T) {
			s, _ := newStore(t)
			ctx := context.Background()
			var want []string
			for i := range 5 {
				name := fmt.Sprintf("x%d", i)
				want = append(want, name)
				if _, err := s.Create(ctx, obj("a", name)); err != nil {
					t.Fatal(err)
				}
			}
			opts := ListOptions{ResourceVersion: rv, Limit: 2}
			var got []string
			var revs []int64
			for page := 0; ; page++ {
				res, err := s.List(ctx, "a", opts)
				if err != nil {
					t.Fatal(err)
				}
				revs = append(revs, res.ResourceVersion)
				for _, it := range res.Items {
					got = append(got, meta(it).GetName())
					if n, _ := strconv.ParseInt(meta(it).GetResourceVersion(), 10, 64); n > res.ResourceVersion {
						t.Errorf("%s at revision %d is newer than its page's %d", meta(it).GetName(), n, res.ResourceVersion)
					}
				}
				if page == 0 {
					changeBetweenPages(t, s)
				}
				if opts.Continue = res.Continue; opts.Continue == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages hold %v, want %v", got, want)
			}
			for _, r := range revs {
				if r != revs[0] {
					t.Errorf("pages at revisions %v, want one", revs)
				}
			}
		})
	}
}

// changeBetweenPages creates, updates and deletes objects a paged list
// has not reached yet.
func changeBetweenPages(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Create(ctx, obj("a", "x9")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "a", "x3", func(cur proto.Message) (proto.Message, error) {
		meta(cur).Labels = map[string]string{"changed": "yes"}
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "a", "x4", nil); err != nil {
		t.Fatal(err)
	}
}
