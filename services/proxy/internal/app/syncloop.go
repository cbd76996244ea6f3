package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"skiff.dev/services/proxy/internal/conntrack"
	"skiff.dev/services/proxy/internal/model"
)

var tracer = otel.Tracer("skiff.dev/services/proxy")

// maxTraced bounds the traces one sync continues (a burst of traced
// changes yields that many spans, not thousands).
const maxTraced = 64

// traced is a change that carried a trace: the sync that programs it is a
// span of that trace, from the change's arrival to the rules being in.
type traced struct {
	parent  trace.SpanContext
	arrived time.Time
	what    string
}

// syncLoop runs the backend: a sync soon after a change, never two closer
// than minSync (changes arriving meanwhile are applied together), a full
// resync every fullEvery, and after a failure a full retry with back-off.
type syncLoop struct {
	backend   model.Backend
	state     func() model.State
	minSync   time.Duration
	fullEvery time.Duration
	metrics   *metrics
	log       *slog.Logger
	// clear removes stale conntrack entries after a sync (conntrack.Clear).
	clear func([]conntrack.Flow) (uint, error)
	// synced is the state the rules last took.
	synced model.State

	kick chan struct{}

	mu sync.Mutex
	// pending is when the oldest change not yet synced arrived; trigger is
	// the oldest change time the EndpointSlices report for it.
	pending, trigger time.Time
	lastOK           time.Time
	traces           []traced
}

func newSyncLoop(b model.Backend, state func() model.State, minSync, fullEvery time.Duration, m *metrics, log *slog.Logger) *syncLoop {
	return &syncLoop{backend: b, state: state, minSync: minSync, fullEvery: fullEvery, metrics: m, log: log,
		clear: conntrack.Clear, kick: make(chan struct{}, 1)}
}

// changed asks for a sync. trigger, if not zero, is when the change was
// made (an EndpointSlice's last-change-trigger-time); ctx carries the
// trace of the write that made it, if any; what names the object.
func (l *syncLoop) changed(ctx context.Context, trigger time.Time, what string) {
	now := time.Now()
	l.mu.Lock()
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && len(l.traces) < maxTraced {
		l.traces = append(l.traces, traced{parent: sc, arrived: now, what: what})
	}
	if l.pending.IsZero() {
		l.pending = now
		l.metrics.lastQueued.Set(float64(now.UnixNano()) / 1e9)
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

// clearStale removes the UDP conntrack entries the rules just made wrong;
// a failure is logged (the entries time out on their own eventually).
func (l *syncLoop) clearStale(st model.State) {
	flows := conntrack.Stale(l.synced, st)
	l.synced = st
	if len(flows) == 0 {
		return
	}
	n, err := l.clear(flows)
	if err != nil {
		l.log.Warn("clear stale conntrack entries", "flows", len(flows), "err", err)
		return
	}
	l.log.Debug("cleared stale conntrack entries", "flows", len(flows), "entries", n)
}

// healthy is what /healthz reports: a sync has succeeded, and no change
// has waited much longer than a full resync period.
func (l *syncLoop) healthy() (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	limit := 2*l.fullEvery + l.minSync
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

// run syncs until ctx ends. The first sync is a full one.
func (l *syncLoop) run(ctx context.Context) {
	full, failures := true, 0
	var last time.Time
	fullTimer := time.NewTimer(l.fullEvery)
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
		if wait := l.minSync - time.Since(last); !last.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		select {
		case <-l.kick: // covered by this sync
		default:
		}
		l.mu.Lock()
		pending, trigger, traces := l.pending, l.trigger, l.traces
		l.pending, l.trigger, l.traces = time.Time{}, time.Time{}, nil
		l.mu.Unlock()

		start := time.Now()
		st := l.state()
		stats, err := l.backend.Sync(ctx, st, full)
		last = time.Now()
		l.metrics.observeSync(full, last.Sub(start), stats, err)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			backoff := min(l.minSync<<min(failures, 6), 30*time.Second)
			backoff = max(backoff, 100*time.Millisecond)
			l.log.Error("sync failed; retrying with a full sync", "full", full, "failures", failures, "retry_in", backoff, "err", err)
			l.mu.Lock()
			if !pending.IsZero() && (l.pending.IsZero() || pending.Before(l.pending)) {
				l.pending, l.trigger = pending, trigger
			}
			l.traces = append(traces, l.traces...)
			l.mu.Unlock()
			full, retry = true, time.After(backoff)
			continue
		}
		if failures > 0 {
			l.log.Info("sync succeeded again", "after_failures", failures)
		}
		failures, retry = 0, nil
		l.clearStale(st)
		if full {
			if !fullTimer.Stop() {
				select {
				case <-fullTimer.C:
				default:
				}
			}
			fullTimer.Reset(l.fullEvery)
		}
		l.log.Debug("synced", "full", full, "rules", stats.Rules, "written", stats.Written, "took", last.Sub(start))
		l.mu.Lock()
		l.lastOK = last
		l.mu.Unlock()
		if !pending.IsZero() {
			l.metrics.programming.Observe(last.Sub(trigger).Seconds())
		}
		for _, t := range traces {
			_, span := tracer.Start(trace.ContextWithRemoteSpanContext(ctx, t.parent), "proxy.SyncRules",
				trace.WithTimestamp(t.arrived), trace.WithAttributes(
					attribute.String("skiff.object", t.what), attribute.Bool("skiff.full_sync", full),
					attribute.Int("skiff.rules", stats.Rules), attribute.Int("skiff.written", stats.Written)))
			span.End(trace.WithTimestamp(last))
		}
		full = false
	}
}
