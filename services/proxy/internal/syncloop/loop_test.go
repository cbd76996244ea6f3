package syncloop

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"skiff.dev/services/proxy/internal/model"
)

// recorder is a backend that remembers its syncs and fails when told to;
// the real backends are tested against the kernel in their packages.
type recorder struct {
	mu    sync.Mutex
	syncs []bool // full or not, in order
	fail  int    // fail this many syncs from now
}

func (r *recorder) Sync(_ context.Context, full bool) (model.SyncStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncs = append(r.syncs, full)
	if r.fail > 0 {
		r.fail--
		return model.SyncStats{}, errors.New("injected failure")
	}
	return model.SyncStats{Rules: 1}, nil
}

func (r *recorder) get() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool(nil), r.syncs...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startLoop(t *testing.T, b *recorder, minSync, full time.Duration) *Loop {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry(), "test_sync", "test_programming_duration_seconds", nil)
	l := New(b, Config{MinSync: minSync, FullEvery: full, Metrics: m, Log: slog.Default(), Span: "test.Sync"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

func TestSyncLoopFullThenPartialAndCoalesced(t *testing.T) {
	b := &recorder{}
	l := startLoop(t, b, 300*time.Millisecond, time.Hour)
	waitFor(t, "first sync", func() bool { return len(b.get()) == 1 })
	if !b.get()[0] {
		t.Errorf("first sync was partial, want full")
	}
	waitFor(t, "healthy after the first sync", func() bool { ok, _ := l.Healthy(); return ok })
	for range 20 {
		l.Changed(context.Background(), time.Time{}, "")
	}
	waitFor(t, "a sync for the changes", func() bool { return len(b.get()) >= 2 })
	waitFor(t, "no pending change", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.pending.IsZero()
	})
	syncs := b.get()
	if len(syncs) > 3 {
		t.Errorf("got %d syncs for a burst of 20 changes, want them applied together (at most 2)", len(syncs)-1)
	}
	for _, full := range syncs[1:] {
		if full {
			t.Errorf("got a full sync for a change, want partial: %v", syncs)
		}
	}
}

func TestSyncLoopRetriesFullAfterFailure(t *testing.T) {
	b := &recorder{}
	l := startLoop(t, b, 10*time.Millisecond, time.Hour)
	waitFor(t, "first sync", func() bool { return len(b.get()) == 1 })
	b.mu.Lock()
	b.fail = 2
	b.mu.Unlock()
	l.Changed(context.Background(), time.Time{}, "")
	// No further change: the loop retries by itself until one succeeds.
	waitFor(t, "two failures and a success", func() bool { return len(b.get()) == 4 })
	if got := b.get(); got[1] || !got[2] || !got[3] {
		t.Errorf("got syncs (full?) %v, want partial, then full retries", got)
	}
	waitFor(t, "healthy again", func() bool { ok, _ := l.Healthy(); return ok })
}

func TestSyncLoopPeriodicFullSync(t *testing.T) {
	b := &recorder{}
	startLoop(t, b, 0, 50*time.Millisecond)
	waitFor(t, "periodic full syncs", func() bool { return len(b.get()) >= 3 })
	for i, full := range b.get() {
		if !full {
			t.Errorf("sync %d was partial with nothing changed, want only full resyncs", i)
		}
	}
}

func TestLoopUnhealthyAndCountedWhileFailing(t *testing.T) {
	b := &recorder{fail: 1 << 20}
	l := startLoop(t, b, 10*time.Millisecond, time.Hour)
	// The loop counts a failure after the backend has returned it.
	waitFor(t, "two failed syncs, counted", func() bool {
		return len(b.get()) >= 2 && testutil.ToFloat64(l.cfg.Metrics.errors) >= 2
	})
	if ok, why := l.Healthy(); ok || why != "rules not synced yet" {
		t.Errorf("got healthy %v (%q) while every sync fails, want false (rules not synced yet)", ok, why)
	}
}
