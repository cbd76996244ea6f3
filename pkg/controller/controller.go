// Package controller runs level-based reconcilers for the controller-manager
// and the cloud-controller: informer events put object keys on a
// rate-limited work queue, workers take keys off it and reconcile each until
// it succeeds, backing off on errors; each run (leadership term) starts by
// reconciling every key.
package controller

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/workqueue"
)

// Reconciler brings the object with a key ("namespace/name") to its
// desired state. It returns after how long to look again (0: not unless
// something changes), or an error to retry with back-off.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (time.Duration, error)
}

// ReconcileFunc adapts a function to Reconciler.
type ReconcileFunc func(ctx context.Context, key string) (time.Duration, error)

// Reconcile calls f.
func (f ReconcileFunc) Reconcile(ctx context.Context, key string) (time.Duration, error) {
	return f(ctx, key)
}

// Observer is told how each reconcile went (metrics).
type Observer func(controller string, d time.Duration, err error)

// Controller is one named reconciler and its queue.
type Controller struct {
	Name       string
	Reconciler Reconciler
	Workers    int
	Observe    Observer
	// Keys lists every object the controller looks after: each run
	// (leadership term) starts by reconciling them all.
	Keys func() []string
	// Queue tunes the work queue's back-off (zero: the queue's defaults).
	Queue workqueue.Options

	mu    sync.Mutex
	queue *workqueue.Queue[string]
}

func (c *Controller) q() *workqueue.Queue[string] {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queue == nil {
		c.queue = workqueue.New[string](c.Queue)
	}
	return c.queue
}

// Enqueue asks for a key to be reconciled.
func (c *Controller) Enqueue(key string) { c.q().Add(key) }

// EnqueueAfter asks for a key to be reconciled after d.
func (c *Controller) EnqueueAfter(key string, d time.Duration) { c.q().AddAfter(key, d) }

// Len is the number of keys waiting.
func (c *Controller) Len() int { return c.q().Len() }

// ErrRetry asks to look again soon (RetrySoon) without logging an error:
// the reconciler waits for its cache to catch up with its own writes. A
// conflict on a write is handled the same way.
var ErrRetry = errors.New("retry")

// RetrySoon is when a key that returned ErrRetry or a conflict is looked
// at again.
const RetrySoon = 100 * time.Millisecond

// Run works the queue with Workers goroutines until ctx ends, then waits
// for the reconciles in flight. A later Run starts over with a new queue.
func (c *Controller) Run(ctx context.Context) error {
	q := c.q()
	if c.Keys != nil {
		for _, k := range c.Keys() {
			q.Add(k)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < max(c.Workers, 1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.next(ctx, q) {
			}
		}()
	}
	<-ctx.Done()
	c.mu.Lock()
	c.queue = nil
	c.mu.Unlock()
	q.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) next(ctx context.Context, q *workqueue.Queue[string]) bool {
	key, ok := q.Get()
	if !ok {
		return false
	}
	defer q.Done(key)
	start := time.Now()
	after, err := c.Reconciler.Reconcile(ctx, key)
	if c.Observe != nil {
		c.Observe(c.Name, time.Since(start), err)
	}
	switch {
	case ctx.Err() != nil:
	case errors.Is(err, ErrRetry) || client.IsConflict(err):
		// Waiting for the cache to catch up is not a failure: look again
		// soon, without growing the key's back-off.
		q.Forget(key)
		q.AddAfter(key, RetrySoon)
	case err != nil:
		slog.WarnContext(ctx, "reconcile failed", "controller", c.Name, "key", key, "err", err, "retries", q.NumRequeues(key))
		q.AddRateLimited(key)
	default:
		q.Forget(key)
		if after > 0 {
			q.AddAfter(key, after)
		}
	}
	return true
}
