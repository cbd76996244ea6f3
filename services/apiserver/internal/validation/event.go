package validation

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// Length limits of an event's fields.
const (
	eventReasonLimit   = 128
	eventActionLimit   = 128
	eventInstanceLimit = 128
	eventNoteLimit     = 1024
)

// Events are validated in their core/v1 shape whichever group they come
// through, as Kubernetes validates its internal Event, with the stricter
// rules of events.k8s.io/v1 on top for that group. Field paths are the
// core/v1 ones except reportingController, as in Kubernetes.

// ValidateEvent checks a core/v1 event as Kubernetes does for that API
// version: its namespace must match its object's, and an event with an
// eventTime (a "new" event) needs its reporting fields.
func ValidateEvent(e *corev1.Event) field.ErrorList {
	return legacyEvent(e, "reportingComponent")
}

// ValidateEventsV1 is what an Event must be through events.k8s.io/v1,
// created or updated.
func ValidateEventsV1(e *corev1.Event) field.ErrorList {
	return legacyEvent(e, "reportingController")
}

// ValidateEventsV1Create is what an Event created through events.k8s.io/v1
// must be besides: an eventTime, a type of Normal or Warning, a valid
// series, and none of the deprecated counting fields.
func ValidateEventsV1Create(e *corev1.Event) field.ErrorList {
	errs := eventSeries(e)
	if e.GetEventTime() == nil {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if t := e.GetType(); t != "Normal" && t != "Warning" {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", t)))
	}
	unset := field.ErrorList{}
	if e.GetFirstTimestamp() != nil {
		unset = append(unset, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if e.GetLastTimestamp() != nil {
		unset = append(unset, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if e.GetCount() != 0 {
		unset = append(unset, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if e.GetSource().GetComponent() != "" || e.GetSource().GetHost() != "" {
		unset = append(unset, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return append(errs, unset...)
}

// ValidateEventsV1Update: through events.k8s.io/v1 only the series (and
// metadata) of an Event may change.
func ValidateEventsV1Update(e, old *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if !proto.Equal(e.GetSeries(), old.GetSeries()) {
		errs = append(errs, eventSeries(e)...)
	}
	for _, f := range []struct {
		name       string
		value, was any
	}{
		{"involvedObject", e.GetInvolvedObject(), old.GetInvolvedObject()},
		{"reason", e.GetReason(), old.GetReason()},
		{"message", e.GetMessage(), old.GetMessage()},
		{"source", e.GetSource(), old.GetSource()},
		{"firstTimestamp", e.GetFirstTimestamp(), old.GetFirstTimestamp()},
		{"lastTimestamp", e.GetLastTimestamp(), old.GetLastTimestamp()},
		{"count", e.GetCount(), old.GetCount()},
		{"type", e.GetType(), old.GetType()},
		{"eventTime", microseconds(e.GetEventTime().AsTime().UnixNano()), microseconds(old.GetEventTime().AsTime().UnixNano())},
		{"action", e.GetAction(), old.GetAction()},
		{"related", e.GetRelated(), old.GetRelated()},
		{"reportingController", e.GetReportingComponent(), old.GetReportingComponent()},
		{"reportingInstance", e.GetReportingInstance(), old.GetReportingInstance()},
	} {
		if !same(f.value, f.was) {
			errs = append(errs, immutable(field.NewPath(f.name), f.value))
		}
	}
	return errs
}

// microseconds is the precision an eventTime keeps: a client that writes
// nanoseconds must not change it.
func microseconds(ns int64) int64 { return ns / 1000 }

func same(a, b any) bool {
	if m, ok := a.(proto.Message); ok {
		return proto.Equal(m, b.(proto.Message))
	}
	return a == b
}

func eventSeries(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if s := e.GetSeries(); s != nil {
		if s.GetCount() < 2 {
			errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
		}
		if s.GetLastObservedTime() == nil {
			errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
		}
	}
	return errs
}

// legacyEvent is what every Event must be; reporting names the field
// reportingController is called in the request's group.
func legacyEvent(e *corev1.Event, reporting string) field.ErrorList {
	var errs field.ErrorList
	ns, objNS := e.GetMetadata().GetNamespace(), e.GetInvolvedObject().GetNamespace()
	mismatch := field.Invalid(field.NewPath("involvedObject", "namespace"), objNS, "does not match event.namespace")
	if e.GetEventTime() == nil {
		if objNS == "" && ns != "" && ns != "default" || objNS != "" && ns != objNS {
			errs = append(errs, mismatch)
		}
	} else {
		if objNS == "" && ns != "default" && ns != "kube-system" {
			errs = append(errs, mismatch)
		}
		errs = append(errs, newEventFields(e, reporting)...)
	}
	for _, msg := range validation.IsDNS1123Subdomain(ns) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), ns, msg))
	}
	return errs
}

func newEventFields(e *corev1.Event, reporting string) field.ErrorList {
	var errs field.ErrorList
	rc := field.NewPath(reporting)
	if e.GetReportingComponent() == "" {
		errs = append(errs, field.Required(rc, ""))
	}
	errs = append(errs, invalid(rc, e.GetReportingComponent(), validation.IsQualifiedName(e.GetReportingComponent()))...)
	for _, f := range []struct {
		name, value string
		limit       int
		required    bool
	}{
		{"reportingInstance", e.GetReportingInstance(), eventInstanceLimit, true},
		{"action", e.GetAction(), eventActionLimit, true},
		{"reason", e.GetReason(), eventReasonLimit, true},
		{"message", e.GetMessage(), eventNoteLimit, false},
	} {
		p := field.NewPath(f.name)
		if f.required && f.value == "" {
			errs = append(errs, field.Required(p, ""))
		}
		if len(f.value) > f.limit {
			errs = append(errs, tooLongChars(p, f.limit))
		}
	}
	return errs
}
