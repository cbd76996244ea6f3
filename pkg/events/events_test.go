package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
)

// memSink keeps events as an apiserver would, failing as told.
type memSink struct {
	mu     sync.Mutex
	events map[string]*corev1.Event
	fail   []error // errors the next writes return, in order
	writes int
}

func newMemSink() *memSink { return &memSink{events: map[string]*corev1.Event{}} }

func (s *memSink) next() error {
	s.writes++
	if len(s.fail) == 0 {
		return nil
	}
	err := s.fail[0]
	s.fail = s.fail[1:]
	return err
}

func (s *memSink) Create(_ context.Context, ev *corev1.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.next(); err != nil {
		return err
	}
	s.events[ev.GetMetadata().GetName()] = ev
	return nil
}

func (s *memSink) Patch(_ context.Context, _, name string, patch []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.next(); err != nil {
		return err
	}
	ev, ok := s.events[name]
	if !ok {
		return statusErr("NotFound")
	}
	var p struct {
		Count   int32  `json:"count"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return err
	}
	ev.Count, ev.Message = p.Count, p.Message
	return nil
}

func (s *memSink) list() []*corev1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*corev1.Event
	for _, ev := range s.events {
		out = append(out, ev)
	}
	return out
}

func statusErr(reason string) error {
	return &client.StatusError{Status: &metav1.Status{Reason: reason, Message: reason}}
}

var pod = &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Uid: "u1"}}

// drain writes everything queued, as Run would.
func drain(b *Broadcaster) {
	for {
		select {
		case ev := <-b.queue:
			b.write(context.Background(), ev)
		default:
			return
		}
	}
}

func newTestBroadcaster() (*Broadcaster, *memSink, *clock.Fake) {
	sink := newMemSink()
	clk := clock.NewFake(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	return NewBroadcasterWithClock(sink, clk), sink, clk
}

func TestRepeatsCountUp(t *testing.T) {
	b, sink, clk := newTestBroadcaster()
	r := b.Recorder("kubelet", "node-1")
	for i := 0; i < 3; i++ {
		r.Eventf(pod, Warning, "BackOff", "Back-off restarting failed container %s", "app")
		clk.Step(time.Second)
		drain(b)
	}
	evs := sink.list()
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1 counted up", len(evs))
	}
	ev := evs[0]
	if ev.GetCount() != 3 {
		t.Errorf("got count %d, want 3", ev.GetCount())
	}
	ref := ev.GetInvolvedObject()
	if ref.GetKind() != "Pod" || ref.GetApiVersion() != "v1" || ref.GetUid() != "u1" || ev.GetMetadata().GetNamespace() != "shop" {
		t.Errorf("got involvedObject %v in %q, want the pod", ref, ev.GetMetadata().GetNamespace())
	}
	if ev.GetSource().GetComponent() != "kubelet" || ev.GetSource().GetHost() != "node-1" || ev.GetReportingComponent() != "kubelet" {
		t.Errorf("got source %v, reportingComponent %q", ev.GetSource(), ev.GetReportingComponent())
	}
}

func TestSimilarEventsCombine(t *testing.T) {
	b, sink, clk := newTestBroadcaster()
	r := b.Recorder("kubelet", "node-1")
	for i := 1; i <= similarEvents+2; i++ {
		r.Eventf(pod, Warning, "Failed", "failed attempt %d", i)
		clk.Step(time.Millisecond) // events are named after the time they happened
	}
	drain(b)
	var combined []*corev1.Event
	for _, ev := range sink.list() {
		if len(ev.GetMessage()) > len(combinedPrefix) && ev.GetMessage()[:len(combinedPrefix)] == combinedPrefix {
			combined = append(combined, ev)
		}
	}
	if got, want := len(sink.list()), similarEvents; got != want {
		t.Errorf("got %d events, want %d (9 plain, 1 combined)", got, want)
	}
	if len(combined) != 1 || combined[0].GetCount() != 3 || combined[0].GetMessage() != combinedPrefix+"failed attempt 12" {
		t.Fatalf("got combined %v, want one with count 3 and the last message", combined)
	}
}

func TestFloodIsDropped(t *testing.T) {
	b, sink, clk := newTestBroadcaster()
	r := b.Recorder("kubelet", "node-1")
	for i := 0; i < spamBurst+5; i++ {
		r.Eventf(pod, Normal, fmt.Sprintf("Reason%d", i), "m")
		clk.Step(time.Millisecond)
	}
	drain(b)
	if got := len(sink.list()); got != spamBurst {
		t.Fatalf("got %d events, want the first %d", got, spamBurst)
	}
	clk.Step(spamInterval)
	r.Eventf(pod, Normal, "Later", "m")
	other := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web-2", Namespace: "shop", Uid: "u2"}}
	r.Eventf(other, Normal, "Other", "m")
	drain(b)
	if got := len(sink.list()); got != spamBurst+2 {
		t.Fatalf("got %d events, want %d: one more token after %v, and another object's own bucket", got, spamBurst+2, spamInterval)
	}
}

func TestWrites(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fail       []error
		wantWrites int
		wantStored bool
	}{
		{"written", nil, 1, true},
		{"unavailable apiserver retried", []error{errors.New("connection refused"), errors.New("connection refused")}, 3, true},
		{"invalid event not retried", []error{statusErr("Invalid")}, 1, false},
		{"given up after retries", []error{errors.New("x"), errors.New("x"), errors.New("x"), errors.New("x")}, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, sink, clk := newTestBroadcaster()
			b.backoff = time.Millisecond
			sink.fail = tc.fail
			b.Recorder("kubelet", "node-1").Eventf(pod, Normal, "Pulled", "m")
			done := make(chan struct{})
			go func() { drain(b); close(done) }()
			for {
				select {
				case <-done:
				case <-time.After(time.Millisecond):
					clk.Step(time.Second) // lets a retry's back-off end
					continue
				}
				break
			}
			if sink.writes != tc.wantWrites || (len(sink.list()) == 1) != tc.wantStored {
				t.Fatalf("got %d writes and %d stored, want %d writes, stored %v", sink.writes, len(sink.list()), tc.wantWrites, tc.wantStored)
			}
		})
	}
}

func TestExpiredRepeatIsCreatedAgain(t *testing.T) {
	b, sink, _ := newTestBroadcaster()
	r := b.Recorder("kubelet", "node-1")
	r.Eventf(pod, Normal, "Pulled", "m")
	drain(b)
	sink.events = map[string]*corev1.Event{} // the event expired
	r.Eventf(pod, Normal, "Pulled", "m")
	drain(b)
	evs := sink.list()
	if len(evs) != 1 || evs[0].GetCount() != 2 {
		t.Fatalf("got %v, want the event created again with count 2", evs)
	}
}

func TestRef(t *testing.T) {
	for _, tc := range []struct {
		obj                   Object
		apiVersion, kind, uid string
	}{
		{pod, "v1", "Pod", "u1"},
		{&corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-1", Uid: "n1"}}, "v1", "Node", "node-1"},
		{&corev1.Service{Kind: "Service", ApiVersion: "v1", Metadata: &metav1.ObjectMeta{Name: "s", Uid: "s1"}}, "v1", "Service", "s1"},
	} {
		ref := Ref(tc.obj)
		if ref.GetApiVersion() != tc.apiVersion || ref.GetKind() != tc.kind || ref.GetUid() != tc.uid {
			t.Errorf("got %s %s uid %s, want %s %s uid %s", ref.GetApiVersion(), ref.GetKind(), ref.GetUid(), tc.apiVersion, tc.kind, tc.uid)
		}
	}
}
