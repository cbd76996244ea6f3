package podgc

import (
	"sync"
	"time"
)

// quarantine remembers since when each node has been missing from the
// cache, so a node is believed gone only after it stayed missing for the
// whole period (a new Node may reach the cache after the pods bound to it).
type quarantine struct {
	period time.Duration
	now    func() time.Time

	mu      sync.Mutex
	missing map[string]time.Time
}

func newQuarantine(period time.Duration, now func() time.Time) *quarantine {
	return &quarantine{period: period, now: now, missing: map[string]time.Time{}}
}

// wait notes node as missing and says how much longer it must stay
// missing; 0 means the quarantine is over.
func (q *quarantine) wait(node string) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	since, ok := q.missing[node]
	if !ok {
		q.missing[node] = now
		return q.period
	}
	return max(since.Add(q.period).Sub(now), 0)
}

// release forgets node: it exists, or its pods are gone.
func (q *quarantine) release(node string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.missing, node)
}
