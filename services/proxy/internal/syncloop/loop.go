package syncloop

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"skiff.dev/services/proxy/internal/model"
)

var tracer = otel.Tracer("skiff.dev/services/proxy")

// maxTraced bounds the traces one sync continues (a burst of traced
// changes yields that many spans, not thousands).
const maxTraced = 64

// Target is what a Loop keeps in step. Sync makes the kernel match the
// current state: with full set it rewrites everything it owns and removes
// leftovers, otherwise it writes what changed since its last success.
type Target interface {
	Sync(ctx context.Context, full bool) (model.SyncStats, error)
}

// Config tunes a Loop.
type Config struct {
	// MinSync is the least time between two syncs; changes arriving
	// meanwhile are applied together.
	MinSync time.Duration
	// FullEvery is the period of full resyncs.
	FullEvery time.Duration
	// Metrics receives every sync's outcome.
	Metrics *Metrics
	Log     *slog.Logger
	// Span names the span a traced change's sync records.
	Span string
}

// traced is a change that carried a trace: the sync that programs it is a
// span of that trace, from the change's arrival to the rules being in.
type traced struct {
	parent  trace.SpanContext
	arrived time.Time
	what    string
}

// Loop runs a Target: a sync soon after a change, never two closer than
// MinSync, a full resync every FullEvery, and after a failure a full retry
// with back-off.
type Loop struct {
	target Target
	cfg    Config
	kick   chan struct{}

	mu sync.Mutex
	// pending is when the oldest change not yet synced arrived; trigger is
	// the oldest change time reported for it.
	pending, trigger time.Time
	lastOK           time.Time
	traces           []traced
}

// New returns a loop for t; Run starts it.
func New(t Target, cfg Config) *Loop {
	return &Loop{target: t, cfg: cfg, kick: make(chan struct{}, 1)}
}

// Changed asks for a sync. trigger, if not zero, is when the change was
// made; ctx carries the trace of the write that made it, if any; what
// names the object.
func (l *Loop) Changed(ctx context.Context, trigger time.Time, what string) {
	now := time.Now()
	l.mu.Lock()
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && len(l.traces) < maxTraced {
		l.traces = append(l.traces, traced{parent: sc, arrived: now, what: what})
	}
	if l.pending.IsZero() {
		l.pending = now
		l.cfg.Metrics.lastQueued.Set(float64(now.UnixNano()) / 1e9)
	}
	if trigger.IsZero() || trigger.After(now) {
		trigger = now
	}
	if l.trigger.IsZero() || trigger.Before(l.trigger) {
		l.trigger = trigger
	}
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Healthy is what /healthz reports: a sync has succeeded, and no change
// has waited much longer than a full resync period.
func (l *Loop) Healthy() (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	limit := 2*l.cfg.FullEvery + l.cfg.MinSync
	switch {
	case l.lastOK.IsZero():
		return false, "rules not synced yet"
	case !l.pending.IsZero() && time.Since(l.pending) > limit:
		return false, "a change has waited " + time.Since(l.pending).Round(time.Second).String() + " for a sync"
	case time.Since(l.lastOK) > limit:
		return false, "last successful sync " + time.Since(l.lastOK).Round(time.Second).String() + " ago"
	}
	return true, "ok"
}

// batch is the changes one sync covers.
type batch struct {
	pending, trigger time.Time
	traces           []traced
}

func (l *Loop) take() batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := batch{pending: l.pending, trigger: l.trigger, traces: l.traces}
	l.pending, l.trigger, l.traces = time.Time{}, time.Time{}, nil
	return b
}

// putBack returns a failed sync's changes, so they stay pending.
func (l *Loop) putBack(b batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !b.pending.IsZero() && (l.pending.IsZero() || b.pending.Before(l.pending)) {
		l.pending, l.trigger = b.pending, b.trigger
	}
	l.traces = append(b.traces, l.traces...)
}

// Run syncs until ctx ends. The first sync is a full one.
func (l *Loop) Run(ctx context.Context) {
	full, failures := true, 0
	var last time.Time
	fullTimer := time.NewTimer(l.cfg.FullEvery)
	defer fullTimer.Stop()
	var retry <-chan time.Time
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-l.kick:
			case <-fullTimer.C:
				full = true
			case <-retry:
			}
		}
		if !last.IsZero() && !sleep(ctx, l.cfg.MinSync-time.Since(last)) {
			return
		}
		select {
		case <-l.kick: // covered by this sync
		default:
		}
		var err error
		last, err = l.syncOnce(ctx, full)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			backoff := max(min(l.cfg.MinSync<<min(failures, 6), 30*time.Second), 100*time.Millisecond)
			l.cfg.Log.Error("sync failed; retrying with a full sync", "full", full, "failures", failures, "retry_in", backoff, "err", err)
			full, retry = true, time.After(backoff)
			continue
		}
		if failures > 0 {
			l.cfg.Log.Info("sync succeeded again", "after_failures", failures)
		}
		failures, retry = 0, nil
		if full {
			resetTimer(fullTimer, l.cfg.FullEvery)
		}
		full = false
	}
}

// syncOnce runs one sync of the changes pending now and records it; it
// returns when the sync ended.
func (l *Loop) syncOnce(ctx context.Context, full bool) (time.Time, error) {
	b := l.take()
	start := time.Now()
	stats, err := l.target.Sync(ctx, full)
	end := time.Now()
	l.cfg.Metrics.observeSync(full, end.Sub(start), stats, err)
	if err != nil {
		l.putBack(b)
		return end, err
	}
	l.cfg.Log.Debug("synced", "full", full, "rules", stats.Rules, "written", stats.Written, "took", end.Sub(start))
	l.mu.Lock()
	l.lastOK = end
	l.mu.Unlock()
	if !b.pending.IsZero() {
		l.cfg.Metrics.programming.Observe(end.Sub(b.trigger).Seconds())
	}
	for _, t := range b.traces {
		_, span := tracer.Start(trace.ContextWithRemoteSpanContext(ctx, t.parent), l.cfg.Span,
			trace.WithTimestamp(t.arrived), trace.WithAttributes(
				attribute.String("skiff.object", t.what), attribute.Bool("skiff.full_sync", full),
				attribute.Int("skiff.rules", stats.Rules), attribute.Int("skiff.written", stats.Written)))
		span.End(trace.WithTimestamp(end))
	}
	return end, nil
}

func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}

// sleep waits d (nothing when not positive); false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
