package pluginproc

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := &Backoff{Initial: time.Second, Max: 5 * time.Second, Healthy: time.Minute}
	steps := []struct {
		lived time.Duration
		want  time.Duration
	}{
		{0, time.Second},
		{time.Second, 2 * time.Second},
		{0, 4 * time.Second},
		{0, 5 * time.Second},
		{0, 5 * time.Second},
		{2 * time.Minute, time.Second},
		{0, 2 * time.Second},
	}
	for i, s := range steps {
		if got := b.Next(s.lived); got != s.want {
			t.Fatalf("step %d (lived %v): got %v, want %v", i, s.lived, got, s.want)
		}
	}
}
