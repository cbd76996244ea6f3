package allocator

import (
	"context"
	"time"
)

// Leaks remembers since when each allocated-but-unused offset has been
// seen unused, so a repair frees it only after a grace window: a create in
// flight allocates before its Service is stored.
type Leaks map[int]time.Time

// Repair is what a repair changed.
type Repair struct {
	Marked []int // in use but were free: now allocated
	Freed  []int // allocated, unused for longer than the grace window: now free
}

// repair makes the bitmap hold the offsets in use, and frees offsets no
// Service uses once they have been unused for grace.
func (a *allocator) repair(ctx context.Context, used map[int]bool, leaks Leaks, now time.Time, grace time.Duration) (Repair, error) {
	var out Repair
	err := a.store.update(ctx, func(b *Bitmap) error {
		out = Repair{}
		for off := range used {
			if off >= 0 && off < b.Size() && !b.Has(off) {
				b.Set(off)
				out.Marked = append(out.Marked, off)
			}
		}
		seen := map[int]bool{}
		b.Each(func(off int) {
			if used[off] {
				return
			}
			seen[off] = true
			since, ok := leaks[off]
			if !ok {
				leaks[off] = now
				return
			}
			if now.Sub(since) >= grace {
				b.Clear(off)
				out.Freed = append(out.Freed, off)
			}
		})
		for off := range leaks {
			if !seen[off] {
				delete(leaks, off)
			}
		}
		for _, off := range out.Freed {
			delete(leaks, off)
		}
		return nil
	})
	return out, err
}

// Repair makes the allocated ports those in used (ports outside the range
// are ignored), freeing unused ones after grace.
func (p *Ports) Repair(ctx context.Context, used []int, leaks Leaks, now time.Time, grace time.Duration) ([]int, []int, error) {
	offs := map[int]bool{}
	for _, port := range used {
		if p.pr.Contains(port) {
			offs[port-p.pr.Base] = true
		}
	}
	res, err := p.repair(ctx, offs, leaks, now, grace)
	toPorts := func(offs []int) []int {
		var out []int
		for _, o := range offs {
			out = append(out, o+p.pr.Base)
		}
		return out
	}
	return toPorts(res.Marked), toPorts(res.Freed), err
}
