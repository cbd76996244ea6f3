package controller

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestRunRetriesUntilSuccess(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{})
	c := &Controller{Name: "t", Workers: 2, Keys: func() []string { return []string{"a", "b"} },
		Reconcile: func(_ context.Context, key string) (time.Duration, error) {
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
		}}
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
	c.Enqueue("c") // outside Run: dropped, no panic
}
