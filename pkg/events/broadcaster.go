package events

import (
	"context"
	"errors"
	"log/slog"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
)

// queueSize bounds the events waiting to be written; more are dropped, as
// Kubernetes' broadcaster drops them, rather than slow the recorder down.
const queueSize = 1000

// Sink is where events are written: the apiserver, through
// ClientSink.
type Sink interface {
	Create(ctx context.Context, ev *corev1.Event) error
	// Patch applies a merge patch to the event namespace/name.
	Patch(ctx context.Context, namespace, name string, patch []byte) error
}

// Broadcaster writes the events of every Recorder it made, one at a time,
// from Run.
type Broadcaster struct {
	sink  Sink
	clock clock.Clock
	queue chan *corev1.Event
	corr  *correlator
	// retries is how many times a refused write is tried again; backoff is
	// the wait before the first retry (doubled for each next one).
	retries int
	backoff time.Duration
}

// NewBroadcaster writes to sink on the real clock.
func NewBroadcaster(sink Sink) *Broadcaster {
	return NewBroadcasterWithClock(sink, clock.Real{})
}

// NewBroadcasterWithClock writes to sink with time taken from clk.
func NewBroadcasterWithClock(sink Sink, clk clock.Clock) *Broadcaster {
	return &Broadcaster{sink: sink, clock: clk, queue: make(chan *corev1.Event, queueSize), corr: newCorrelator(),
		retries: 3, backoff: time.Second}
}

// Recorder records events from component on host.
func (b *Broadcaster) Recorder(component, host string) *Recorder {
	return &Recorder{b: b, source: &corev1.EventSource{Component: component, Host: host}}
}

func (b *Broadcaster) enqueue(ev *corev1.Event) {
	select {
	case b.queue <- ev:
	default:
		slog.Debug("event dropped: queue full", "object", objectName(ev), "reason", ev.GetReason())
	}
}

// Run writes events until ctx ends; what is still queued then is dropped.
func (b *Broadcaster) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-b.queue:
			b.write(ctx, ev)
		}
	}
}

func (b *Broadcaster) write(ctx context.Context, ev *corev1.Event) {
	d, ok := b.corr.correlate(ev, b.clock.Now())
	if !ok {
		slog.DebugContext(ctx, "event dropped: too many about one object", "object", objectName(ev), "reason", ev.GetReason())
		return
	}
	wait := b.backoff
	for attempt := 0; ; attempt++ {
		err := b.writeOnce(ctx, d)
		if err == nil || ctx.Err() != nil {
			return
		}
		if !retriable(err) || attempt == b.retries {
			slog.DebugContext(ctx, "event not recorded", "object", objectName(ev), "reason", ev.GetReason(), "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-b.clock.After(wait):
		}
		wait *= 2
	}
}

// writeOnce creates the event or patches the one it repeats; a repeated
// event that is gone (events expire) is created again.
func (b *Broadcaster) writeOnce(ctx context.Context, d decision) error {
	m := d.event.GetMetadata()
	if d.patch != nil {
		err := b.sink.Patch(ctx, m.GetNamespace(), m.GetName(), d.patch)
		if !client.IsNotFound(err) {
			return err
		}
	}
	err := b.sink.Create(ctx, d.event)
	if client.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// retriable tells apart refusals that a retry cannot change.
func retriable(err error) bool {
	switch client.ReasonOf(err) {
	case "Invalid", "BadRequest", "Forbidden", "NotFound", "AlreadyExists", "MethodNotAllowed":
		return false
	}
	return !errors.Is(err, context.Canceled)
}

func objectName(ev *corev1.Event) string {
	o := ev.GetInvolvedObject()
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

// ClientSink writes events through the apiserver's gRPC face.
type ClientSink struct{ C *client.Client }

var _ Sink = ClientSink{}

// Create creates ev.
func (s ClientSink) Create(ctx context.Context, ev *corev1.Event) error {
	_, err := s.C.CoreV1().Events(ev.GetMetadata().GetNamespace()).Create(ctx, ev, client.WriteOptions{})
	return err
}

// Patch merge-patches the event namespace/name.
func (s ClientSink) Patch(ctx context.Context, namespace, name string, patch []byte) error {
	_, err := s.C.CoreV1().Events(namespace).Patch(ctx, name, client.MergePatch, patch, client.WriteOptions{}, "")
	return err
}
