package daemonset

import (
	"sync"
	"time"
)

// backoff spaces out the replacements of a node's failed daemon pods: the
// delay doubles from base up to max with each failure, and starts over
// once a node has gone 2*max without one.
type backoff struct {
	base, max time.Duration
	mu        sync.Mutex
	entries   map[string]*backoffEntry
}

type backoffEntry struct {
	delay time.Duration
	last  time.Time
}

func newBackoff(base, max time.Duration) *backoff {
	return &backoff{base: base, max: max, entries: map[string]*backoffEntry{}}
}

// wait is how long key must still wait before its next replacement, 0 if
// it need not.
func (b *backoff) wait(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok {
		return 0
	}
	if now.Sub(e.last) > 2*b.max {
		delete(b.entries, key)
		return 0
	}
	if left := e.last.Add(e.delay).Sub(now); left > 0 {
		return left
	}
	return 0
}

// next records a replacement for key now and lengthens its delay.
func (b *backoff) next(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	switch {
	case !ok || now.Sub(e.last) > 2*b.max:
		b.entries[key] = &backoffEntry{delay: b.base, last: now}
	default:
		e.delay = min(2*e.delay, b.max)
		e.last = now
	}
}
