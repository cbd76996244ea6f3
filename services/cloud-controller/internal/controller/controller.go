// Package controller runs the cloud-controller's level-based reconcilers:
// informer events put keys on a rate-limited work queue while the replica
// leads, workers reconcile each key until it succeeds, backing off on
// errors, and every leadership term starts by reconciling every key.
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

// ReconcileFunc brings the object with a key to its desired state. It
// returns when to look again (0: not unless something changes), or an
// error to retry with back-off.
type ReconcileFunc func(ctx context.Context, key string) (time.Duration, error)

// Observer is told how each reconcile went (metrics).
type Observer func(controller string, d time.Duration, err error)

// ErrRetry asks to look again soon without logging an error (the cache
// has not caught up with a write yet). A write conflict is handled alike.
var ErrRetry = errors.New("retry")

// retrySoon is when a key that returned ErrRetry or a conflict comes back.
const retrySoon = 100 * time.Millisecond

// Controller is one named reconciler and its queue.
type Controller struct {
	Name      string
	Reconcile ReconcileFunc
	Workers   int
	Observe   Observer
	// Keys lists every key; each Run starts with all of them.
	Keys func() []string

	mu    sync.Mutex
	queue *workqueue.Queue[string]
}

// Enqueue asks for a key to be reconciled; outside Run it is dropped (the
// next Run reconciles every key anyway).
func (c *Controller) Enqueue(key string) {
	c.mu.Lock()
	q := c.queue
	c.mu.Unlock()
	if q != nil {
		q.Add(key)
	}
}

// Run works the queue until ctx ends, then waits for the reconciles in
// flight.
func (c *Controller) Run(ctx context.Context) error {
	q := workqueue.New[string](workqueue.Options{BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Minute})
	c.mu.Lock()
	c.queue = q
	c.mu.Unlock()
	if c.Keys != nil {
		for _, k := range c.Keys() {
			q.Add(k)
		}
	}
	var wg sync.WaitGroup
	for range max(c.Workers, 1) {
		wg.Go(func() {
			for c.next(ctx, q) {
			}
		})
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
	after, err := c.Reconcile(ctx, key)
	if c.Observe != nil {
		c.Observe(c.Name, time.Since(start), err)
	}
	switch {
	case ctx.Err() != nil:
	case errors.Is(err, ErrRetry) || client.IsConflict(err):
		q.Forget(key)
		q.AddAfter(key, retrySoon)
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
