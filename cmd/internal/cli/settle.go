package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"skiff.dev/cmd/internal/jaegerapi"
	"skiff.dev/cmd/internal/waterfall"
)

// batchDelay is how long a finished span may wait in its process: the
// services export through the OpenTelemetry SDK's batch span processor,
// which sends what it holds every 5s (the default of
// OTEL_BSP_SCHEDULE_DELAY, which Skiff keeps).
const batchDelay = 5 * time.Second

// settleDelay is how long after a span ends it can take to be in the
// collector: the batch delay, the stack's collector's own batching
// (100ms) and a margin for the export itself.
const settleDelay = batchDelay + time.Second

// poll is how often --wait asks the collector again, at most.
const poll = time.Second

// growing reports whether a trace is probably still growing at now: its
// newest span ended less than settleDelay ago, so spans that other
// components ended at about the same time (or that its own exporter has
// not sent yet) may still be on their way. It also returns how long ago
// that span ended. A span whose end lies ahead of now (another machine's
// clock) counts as just ended.
func growing(spans []waterfall.Span, now time.Time) (bool, time.Duration) {
	var newest time.Time
	for _, s := range spans {
		if end := s.Start.Add(s.Duration); end.After(newest) {
			newest = end
		}
	}
	age := max(now.Sub(newest), 0)
	return age < settleDelay, age
}

// growingNote tells the user that what they see may not be the whole
// trace yet.
func growingNote(w io.Writer, age time.Duration) {
	fmt.Fprintf(w, "note: the trace is probably still growing: its newest span ended %s ago, and the components send spans in batches every %s; run this again in a few seconds, or with --wait\n",
		waterfall.FormatDuration(age), waterfall.FormatDuration(batchDelay))
}

// fetchFunc reads a trace's spans from the collector.
type fetchFunc func(context.Context) ([]waterfall.Span, error)

// sleepFunc waits for d or until ctx ends, whichever is first.
type sleepFunc func(ctx context.Context, d time.Duration) error

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settled fetches a trace until it has stopped growing: it asks again
// every poll, or sooner when the newest span it has seen is about to be
// settleDelay old. When ctx ends first it returns the spans it last got
// (the caller then says the trace may be growing), or the last error when
// it got none.
func settled(ctx context.Context, fetch fetchFunc, now func() time.Time, wait sleepFunc) ([]waterfall.Span, error) {
	var last []waterfall.Span
	for {
		spans, err := fetch(ctx)
		var delay time.Duration
		switch {
		case err == nil:
			last = spans
			grow, age := growing(spans, now())
			if !grow {
				return spans, nil
			}
			delay = min(settleDelay-age, poll)
		case last != nil && ctx.Err() != nil:
			return last, nil
		case errors.Is(err, jaegerapi.ErrNotFound):
			delay = poll
		default:
			return nil, err
		}
		if wait(ctx, delay) != nil {
			if last != nil {
				return last, nil
			}
			if err != nil {
				return nil, err
			}
			return nil, ctx.Err()
		}
	}
}
