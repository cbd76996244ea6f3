package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"skiff.dev/cmd/internal/jaegerapi"
	"skiff.dev/cmd/internal/waterfall"
)

var t0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// span is a span of the test trace that starts at t0+start.
func span(service string, start, d time.Duration) waterfall.Span {
	return waterfall.Span{ID: service + start.String(), Service: service, Operation: "op", Start: t0.Add(start), Duration: d}
}

func TestGrowing(t *testing.T) {
	ms := time.Millisecond
	write := []waterfall.Span{span("apiserver", 0, 7*ms)}
	full := append([]waterfall.Span{}, write...)
	full = append(full, span("controller-manager", 6*ms, 17*ms), span("kubelet", 30*ms, 300*ms))
	for _, tc := range []struct {
		name  string
		spans []waterfall.Span
		now   time.Duration // after t0
		grow  bool
		age   time.Duration
	}{
		{"only the write, just after it", write, time.Second, true, time.Second - 7*ms},
		{"only the write, within the batch delay", write, 5 * time.Second, true, 5*time.Second - 7*ms},
		{"settled: the newest span ended more than the delay ago", full, 330*ms + settleDelay, false, settleDelay},
		{"the newest span counts, not the first", full, 7*ms + settleDelay, true, settleDelay - 323*ms},
		{"a span ending ahead of this clock", full, 100 * ms, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grow, age := growing(tc.spans, t0.Add(tc.now))
			if grow != tc.grow || age != tc.age {
				t.Errorf("got growing %v, age %v; want %v, %v", grow, age, tc.grow, tc.age)
			}
		})
	}
}

func TestGrowingNote(t *testing.T) {
	var b strings.Builder
	growingNote(&b, 1200*time.Millisecond)
	for _, want := range []string{"probably still growing", "ended 1.2s ago", "every 5s", "--wait"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("got %q, want it to say %q", b.String(), want)
		}
	}
}

// fakeCollector answers with what arrived by the fake clock's time: the
// trace arrives in parts, as the components' exporters send them.
type fakeCollector struct {
	now     time.Duration // after t0
	arrival []arrival
	asked   int
}

type arrival struct {
	at   time.Duration
	span waterfall.Span
}

func (c *fakeCollector) fetch(ctx context.Context) ([]waterfall.Span, error) {
	c.asked++
	var out []waterfall.Span
	for _, a := range c.arrival {
		if a.at <= c.now {
			out = append(out, a.span)
		}
	}
	if len(out) == 0 {
		return nil, jaegerapi.ErrNotFound
	}
	return out, nil
}

func (c *fakeCollector) clock() time.Time { return t0.Add(c.now) }

// sleep advances the fake clock, up to a deadline after which it fails as
// a context that ended would.
func (c *fakeCollector) sleep(deadline time.Duration) sleepFunc {
	return func(ctx context.Context, d time.Duration) error {
		if c.now+d > deadline {
			c.now = deadline
			return context.DeadlineExceeded
		}
		c.now += d
		return nil
	}
}

func TestSettled(t *testing.T) {
	ms := time.Millisecond
	// A scale-up: the apiserver's span (exported at 2s), the controllers'
	// and the scheduler's (4s), the kubelet's, whose last ends at 330ms
	// (5.3s).
	parts := []arrival{
		{2 * time.Second, span("apiserver", 0, 7*ms)},
		{4 * time.Second, span("controller-manager", 6*ms, 17*ms)},
		{4 * time.Second, span("scheduler", 17*ms, 28*ms)},
		{5300 * ms, span("kubelet", 30*ms, 300*ms)},
	}
	for _, tc := range []struct {
		name      string
		from      time.Duration // when the command starts
		deadline  time.Duration
		wantSpans int
		wantErr   error
		wantAt    time.Duration // the fake time it returns at
	}{
		{"from right after the write: waits for every part", 100 * ms, time.Minute, 4, nil, 330*ms + settleDelay},
		{"from a settled trace: one question", 10 * time.Second, time.Minute, 4, nil, 10 * time.Second},
		{"out of time: what has arrived", 100 * ms, 4500 * ms, 3, nil, 4500 * ms},
		{"out of time before anything arrived", 100 * ms, 1500 * ms, 0, jaegerapi.ErrNotFound, 1500 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeCollector{now: tc.from, arrival: parts}
			spans, err := settled(context.Background(), c.fetch, c.clock, c.sleep(tc.deadline))
			if len(spans) != tc.wantSpans || !errors.Is(err, tc.wantErr) {
				t.Errorf("got %d spans, %v; want %d, %v", len(spans), err, tc.wantSpans, tc.wantErr)
			}
			if c.now != tc.wantAt {
				t.Errorf("returned at +%v, want +%v (after %d questions)", c.now, tc.wantAt, c.asked)
			}
		})
	}
}

func TestSettledStopsOnOtherErrors(t *testing.T) {
	boom := errors.New("boom")
	asked := 0
	fetch := func(context.Context) ([]waterfall.Span, error) { asked++; return nil, boom }
	_, err := settled(context.Background(), fetch, time.Now, func(context.Context, time.Duration) error { return nil })
	if !errors.Is(err, boom) || asked != 1 {
		t.Errorf("got %v after %d questions, want boom after 1", err, asked)
	}
}
