package pods

import (
	"strings"
	"sync"
	"time"
)

// backoff keeps Kubernetes' per-container restart back-off: the first
// restart is immediate, then each one waits twice as long after the
// container ended as the one before (10s, 20s, 40s, ... up to the maximum).
// A key unused for twice the maximum starts over.
type backoff struct {
	initial, max time.Duration

	mu      sync.Mutex
	entries map[string]*backoffEntry
}

type backoffEntry struct {
	delay time.Duration
	last  time.Time
}

func newBackoff(initial, max time.Duration) *backoff {
	return &backoff{initial: initial, max: max, entries: map[string]*backoffEntry{}}
}

// wait is how long to wait yet, counting the delay from since.
func (b *backoff) wait(key string, since, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || now.Sub(e.last) > 2*b.max {
		return 0
	}
	return max(0, since.Add(e.delay).Sub(now))
}

// waitSinceLast is wait counted from the last attempt.
func (b *backoff) waitSinceLast(key string, now time.Time) time.Duration {
	b.mu.Lock()
	e, ok := b.entries[key]
	b.mu.Unlock()
	if !ok {
		return 0
	}
	return b.wait(key, e.last, now)
}

// next records an attempt and grows the delay.
func (b *backoff) next(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || now.Sub(e.last) > 2*b.max {
		b.entries[key] = &backoffEntry{delay: b.initial, last: now}
		return
	}
	e.delay = min(2*e.delay, b.max)
	e.last = now
}

// delay is the key's current delay.
func (b *backoff) delay(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[key]; ok {
		return e.delay
	}
	return 0
}

func (b *backoff) forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, key)
}

// forgetPod drops every key of a pod (keys contain its uid).
func (b *backoff) forgetPod(uid string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.entries {
		if strings.Contains(k, uid+"/") {
			delete(b.entries, k)
		}
	}
}
