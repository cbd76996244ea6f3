package events

import (
	"encoding/json"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
)

// The correlator's limits are Kubernetes' event recorder's.
const (
	cacheSize = 4096
	// similarEvents distinct messages of one reason about one object within
	// similarWindow are folded into one event.
	similarEvents = 10
	similarWindow = 10 * time.Minute
	// Each source may write spamBurst events about one object at once, then
	// one every spamInterval.
	spamBurst    = 25
	spamInterval = 5 * time.Minute

	combinedPrefix = "(combined from similar events): "
)

// decision is what to write for one event: nothing, a new event, or a
// patch of one written before.
type decision struct {
	event *corev1.Event
	patch []byte // a merge patch of the existing event event names
}

// correlator turns the events a process records into the writes that
// reach the apiserver, as Kubernetes' EventCorrelator does:
//   - an event identical to one written before (same source, object, type,
//     reason and message) counts up that event instead of adding one;
//   - more than similarEvents different messages of one reason about one
//     object within similarWindow become a single "(combined from similar
//     events)" event, counted up from then on;
//   - each source and object get a token bucket; events beyond it are dropped.
//
// It is used by one goroutine at a time.
type correlator struct {
	similar *lru[*similarRecord]
	seen    *lru[*seenRecord]
	spam    *lru[*rate.Limiter]
}

type similarRecord struct {
	messages map[string]struct{}
	last     time.Time
}

// seenRecord is what was written for an event key.
type seenRecord struct {
	name  string
	count int32
	first *timestamppb.Timestamp
}

func newCorrelator() *correlator {
	return &correlator{similar: newLRU[*similarRecord](cacheSize), seen: newLRU[*seenRecord](cacheSize),
		spam: newLRU[*rate.Limiter](cacheSize)}
}

// correlate decides what to write for ev, recorded at now; ok is false
// when the event is dropped.
func (c *correlator) correlate(ev *corev1.Event, now time.Time) (d decision, ok bool) {
	if !c.allow(ev, now) {
		return decision{}, false
	}
	ev, key := c.aggregate(ev, now)
	return c.dedup(ev, key), true
}

func (c *correlator) allow(ev *corev1.Event, now time.Time) bool {
	key := objectKey(ev)
	l, ok := c.spam.get(key)
	if !ok {
		l = rate.NewLimiter(rate.Every(spamInterval), spamBurst)
		c.spam.put(key, l)
	}
	return l.AllowN(now, 1)
}

// aggregate returns the event to write, combined when its reason has said
// too many different things about the object lately, and its key.
func (c *correlator) aggregate(ev *corev1.Event, now time.Time) (*corev1.Event, string) {
	key := strings.Join([]string{objectKey(ev), ev.GetType(), ev.GetReason()}, "\x00")
	rec, ok := c.similar.get(key)
	if !ok || now.Sub(rec.last) > similarWindow {
		rec = &similarRecord{messages: map[string]struct{}{}}
		c.similar.put(key, rec)
	}
	rec.last = now
	rec.messages[ev.GetMessage()] = struct{}{}
	if len(rec.messages) < similarEvents {
		return ev, key + "\x00" + ev.GetMessage()
	}
	combined := proto.Clone(ev).(*corev1.Event)
	combined.Message = combinedPrefix + ev.GetMessage()
	return combined, key
}

// dedup counts up the event written before under key, if any.
func (c *correlator) dedup(ev *corev1.Event, key string) decision {
	rec, ok := c.seen.get(key)
	if !ok {
		c.seen.put(key, &seenRecord{name: ev.GetMetadata().GetName(), count: 1, first: ev.GetFirstTimestamp()})
		return decision{event: ev}
	}
	rec.count++
	ev = proto.Clone(ev).(*corev1.Event)
	ev.Metadata.Name = rec.name
	ev.Count = rec.count
	ev.FirstTimestamp = rec.first
	patch, _ := json.Marshal(map[string]any{
		"count": ev.GetCount(), "message": ev.GetMessage(),
		"lastTimestamp": ev.GetLastTimestamp().AsTime().UTC().Format(time.RFC3339),
	})
	return decision{event: ev, patch: patch}
}

// objectKey identifies an event's source and object.
func objectKey(ev *corev1.Event) string {
	o := ev.GetInvolvedObject()
	return strings.Join([]string{ev.GetSource().GetComponent(), ev.GetSource().GetHost(),
		o.GetKind(), o.GetApiVersion(), o.GetNamespace(), o.GetName(), o.GetFieldPath(), o.GetUid()}, "\x00")
}
