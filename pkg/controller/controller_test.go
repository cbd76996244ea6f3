package controller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Waiting on the cache (ErrRetry) must not grow a key's back-off: a key
// retried twenty times is still looked at again within RetrySoon.
func TestRetryDoesNotEscalate(t *testing.T) {
	var calls atomic.Int32
	done := make(chan struct{})
	c := &Controller{Name: "test", Workers: 1, Reconciler: ReconcileFunc(func(context.Context, string) (time.Duration, error) {
		switch n := calls.Add(1); {
		case n <= 20:
			return 0, ErrRetry
		case n == 21:
			close(done)
		}
		return 0, nil
	})}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = c.Run(ctx); close(stopped) }()
	c.Enqueue("ns/a")
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%d calls after a minute; the back-off grew", calls.Load())
	}
	cancel()
	<-stopped
}

func TestErrorsBackOff(t *testing.T) {
	var calls atomic.Int32
	c := &Controller{Name: "test", Workers: 1, Reconciler: ReconcileFunc(func(context.Context, string) (time.Duration, error) {
		calls.Add(1)
		return 0, errors.New("boom")
	})}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = c.Run(ctx); close(stopped) }()
	c.Enqueue("ns/a")
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if calls.Load() < 5 {
		t.Fatalf("%d calls: a failing key is not retried", calls.Load())
	}
	if n := c.q().NumRequeues("ns/a"); n < 4 {
		t.Fatalf("%d requeues counted for a failing key", n)
	}
	cancel()
	<-stopped
}

func TestRunRetriesUntilSuccess(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{})
	c := &Controller{Name: "t", Workers: 2, Keys: func() []string { return []string{"a", "b"} },
		Reconciler: ReconcileFunc(func(_ context.Context, key string) (time.Duration, error) {
			mu.Lock()
			defer mu.Unlock()
			calls[key]++
			if key == "a" && calls[key] < 3 {
				return 0, errors.New("not yet")
			}
			if key == "a" {
				close(done)
			}
			return 0, nil
		})}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { _ = c.Run(ctx); close(ran) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("key a never succeeded")
	}
	cancel()
	<-ran
	mu.Lock()
	defer mu.Unlock()
	if calls["a"] != 3 || calls["b"] != 1 {
		t.Fatalf("calls: got %v, want a:3 b:1", calls)
	}
	c.Enqueue("c") // between runs: kept for the next one, no panic
}
