package attachdetach

import (
	"testing"
	"time"
)

// A volume no pod needs is detached at once when the node no longer
// reports it in use, else only after MaxWaitForUnmount since it was first
// seen unneeded; needed again, the wait starts over.
func TestMayDetachWaitsForUnmount(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &unmountWait{since: map[string]time.Time{}, now: func() time.Time { return now }}
	steps := []struct {
		advance time.Duration
		needed  bool
		inUse   bool
		detach  bool
		left    time.Duration
	}{
		{inUse: true, left: MaxWaitForUnmount},
		{advance: time.Minute, inUse: true, left: MaxWaitForUnmount - time.Minute},
		{advance: time.Minute, needed: true},
		{inUse: true, left: MaxWaitForUnmount},
		{advance: MaxWaitForUnmount, inUse: true, detach: true},
		{inUse: false, detach: true},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if s.needed {
			w.needed("va")
			continue
		}
		detach, left := w.mayDetach("va", s.inUse)
		if detach != s.detach || left != s.left {
			t.Errorf("step %d: mayDetach = %v, %v; want %v, %v", i, detach, left, s.detach, s.left)
		}
	}
}
