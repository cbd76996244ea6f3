package cronjob

import (
	"context"
	"testing"
	"time"

	"skiff.dev/pkg/clock"
)

func TestWakeups(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	got := make(chan string, 10)
	w := newWakeups(clk, func(k string) { got <- k })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()
	defer func() { cancel(); <-done }()

	w.at("ns/a", start.Add(time.Minute))
	w.at("ns/b", start.Add(2*time.Minute))
	w.at("ns/c", start.Add(time.Minute))
	w.forget("ns/c")
	w.at("ns/b", start.Add(3*time.Minute)) // replaced, not added

	expect := func(want string) {
		t.Helper()
		select {
		case k := <-got:
			if k != want {
				t.Fatalf("woke %s, want %s", k, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not woken", want)
		}
	}
	stepWhenWaiting := func(d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for clk.Waiters() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the wake-ups never waited on the clock")
			}
			time.Sleep(time.Millisecond)
		}
		clk.Step(d)
	}
	stepWhenWaiting(time.Minute)
	expect("ns/a")
	stepWhenWaiting(time.Minute) // 10:02: b was moved to 10:03
	select {
	case k := <-got:
		t.Fatalf("woke %s at 10:02, want nothing", k)
	default:
	}
	stepWhenWaiting(time.Minute)
	expect("ns/b")
	// A time already past is queued at once.
	w.at("ns/d", start)
	expect("ns/d")
}
