package podgc

import (
	"testing"
	"time"
)

func TestQuarantine(t *testing.T) {
	now := time.Unix(1000, 0)
	q := newQuarantine(40*time.Second, func() time.Time { return now })
	steps := []struct {
		name    string
		advance time.Duration
		release bool
		node    string
		want    time.Duration
	}{
		{name: "first seen missing: the whole period", node: "a", want: 40 * time.Second},
		{name: "later: what is left", advance: 15 * time.Second, node: "a", want: 25 * time.Second},
		{name: "another node starts its own", node: "b", want: 40 * time.Second},
		{name: "over", advance: 25 * time.Second, node: "a", want: 0},
		{name: "stays over", advance: time.Minute, node: "a", want: 0},
		{name: "a node that came back starts again", release: true, node: "a", want: 40 * time.Second},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.release {
			q.release(s.node)
		}
		if got := q.wait(s.node); got != s.want {
			t.Errorf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
}
