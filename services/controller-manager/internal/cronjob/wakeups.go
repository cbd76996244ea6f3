package cronjob

import (
	"context"
	"sync"
	"time"

	"skiff.dev/pkg/clock"
)

// wakeups queues CronJobs again at their next schedule time, on the
// controller's clock: the work queue's own delays (back-off, retries) stay on
// real time, while a test that steps a fake clock sees every run come due.
// Each key has one wake-up; setting it again replaces it, as the latest
// reconcile knows best when to look again.
type wakeups struct {
	clk     clock.Clock
	enqueue func(key string)

	mu   sync.Mutex
	due  map[string]time.Time
	poke chan struct{}
}

func newWakeups(clk clock.Clock, enqueue func(string)) *wakeups {
	return &wakeups{clk: clk, enqueue: enqueue, due: map[string]time.Time{}, poke: make(chan struct{}, 1)}
}

// at asks for key to be queued when the clock reaches t.
func (w *wakeups) at(key string, t time.Time) {
	w.mu.Lock()
	w.due[key] = t
	w.mu.Unlock()
	w.wake()
}

// forget drops key's wake-up (its CronJob is gone).
func (w *wakeups) forget(key string) {
	w.mu.Lock()
	delete(w.due, key)
	w.mu.Unlock()
}

func (w *wakeups) wake() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// run queues keys as they come due until ctx ends.
func (w *wakeups) run(ctx context.Context) {
	for {
		fired, next, ok := w.take()
		for _, k := range fired {
			w.enqueue(k)
		}
		var timer <-chan time.Time
		if ok {
			timer = w.clk.After(next.Sub(w.clk.Now()))
			if !w.clk.Now().Before(next) {
				continue // the clock moved on while the timer was set
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-timer:
		case <-w.poke:
		}
	}
}

// take removes the keys that are due and returns them with the earliest
// time still to come.
func (w *wakeups) take() (fired []string, next time.Time, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clk.Now()
	for k, t := range w.due {
		if !t.After(now) {
			fired = append(fired, k)
			delete(w.due, k)
			continue
		}
		if !ok || t.Before(next) {
			next, ok = t, true
		}
	}
	return fired, next, ok
}
