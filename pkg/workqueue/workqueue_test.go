package workqueue

import (
	"testing"
	"time"

	"skiff.dev/pkg/clock"
)

func newQueue(t *testing.T) (*Queue[string], *clock.Fake) {
	fake := clock.NewFake(time.Unix(1000, 0))
	q := New[string](Options{Clock: fake, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second})
	t.Cleanup(q.ShutDown)
	return q, fake
}

func get(t *testing.T, q *Queue[string]) string {
	t.Helper()
	item, ok := q.Get()
	if !ok {
		t.Fatal("queue shut down")
	}
	return item
}

// waitFor polls until cond holds; the queue's delay loop runs on its own
// goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDeduplicatesAndKeepsOrder(t *testing.T) {
	q, _ := newQueue(t)
	for _, item := range []string{"a", "b", "a", "c", "b"} {
		q.Add(item)
	}
	if q.Len() != 3 {
		t.Fatalf("got %d queued, want 3", q.Len())
	}
	for _, want := range []string{"a", "b", "c"} {
		if got := get(t, q); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
		q.Done(want)
	}
}

func TestItemBeingProcessedIsQueuedAgainAfterDone(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	item := get(t, q)
	q.Add("a") // changed while a worker holds it
	if q.Len() != 0 {
		t.Fatal("an item being processed was handed out twice")
	}
	q.Done(item)
	if q.Len() != 1 || get(t, q) != "a" {
		t.Fatal("the item added during processing was lost")
	}
}

func TestRateLimitedBackOffDoublesUntilForget(t *testing.T) {
	q, fake := newQueue(t)
	for i, want := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
		q.AddRateLimited("a")
		waitFor(t, "the delay loop to wait", func() bool { return fake.Waiters() > 0 })
		fake.Step(want - time.Millisecond)
		q.mu.Lock()
		delayedStill := q.waiting.Len() == 1 && len(q.queue) == 0
		q.mu.Unlock()
		if !delayedStill {
			t.Fatalf("failure %d: item back before %v", i+1, want)
		}
		fake.Step(time.Millisecond)
		waitFor(t, "the item to come back", func() bool { return q.Len() == 1 })
		q.Done(get(t, q))
	}
	if q.NumRequeues("a") != 3 {
		t.Fatalf("got %d requeues, want 3", q.NumRequeues("a"))
	}
	q.Forget("a")
	if q.NumRequeues("a") != 0 {
		t.Fatal("Forget kept the failures")
	}
}

func TestBackOffIsCapped(t *testing.T) {
	q, _ := newQueue(t)
	if got := q.backoff(30); got != time.Second {
		t.Fatalf("got %v, want the 1s cap", got)
	}
}

func TestShutDownDrainsThenStops(t *testing.T) {
	q, _ := newQueue(t)
	q.Add("a")
	q.AddAfter("later", time.Hour)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if item, ok := q.Get(); !ok || item != "a" {
			t.Errorf("got %q %v, want the queued item", item, ok)
		}
		if _, ok := q.Get(); ok {
			t.Error("Get after shutdown handed out an item")
		}
	}()
	waitFor(t, "the first Get", func() bool { return q.Len() == 0 })
	q.ShutDown()
	<-done
	q.Add("b")
	if q.Len() != 0 {
		t.Fatal("Add after shutdown queued an item")
	}
}
