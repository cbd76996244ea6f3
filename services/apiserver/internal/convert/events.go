// Package convert turns the objects of one served resource into those of
// another that stores them, and back: events.k8s.io/v1 Events are stored as
// core/v1 Events, as in Kubernetes, so both groups see the same objects.
package convert

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	eventsv1 "skiff.dev/api/events/v1"
)

// EventToCore is an events.k8s.io/v1 Event as core/v1 writes it: regarding
// is involvedObject, note the message, reportingController the
// reportingComponent, and the deprecated* fields the old counting ones.
func EventToCore(e *eventsv1.Event) *corev1.Event {
	e = proto.CloneOf(e)
	out := &corev1.Event{
		Metadata:           e.GetMetadata(),
		InvolvedObject:     e.GetRegarding(),
		Reason:             e.GetReason(),
		Message:            e.GetNote(),
		Source:             e.GetDeprecatedSource(),
		FirstTimestamp:     e.GetDeprecatedFirstTimestamp(),
		LastTimestamp:      e.GetDeprecatedLastTimestamp(),
		Count:              e.GetDeprecatedCount(),
		Type:               e.GetType(),
		EventTime:          e.GetEventTime(),
		Action:             e.GetAction(),
		Related:            e.GetRelated(),
		ReportingComponent: e.GetReportingController(),
		ReportingInstance:  e.GetReportingInstance(),
	}
	if s := e.GetSeries(); s != nil {
		out.Series = &corev1.EventSeries{Count: s.GetCount(), LastObservedTime: s.GetLastObservedTime()}
	}
	return out
}

// EventFromCore is a core/v1 Event as events.k8s.io/v1 shows it.
func EventFromCore(e *corev1.Event) *eventsv1.Event {
	e = proto.CloneOf(e)
	out := &eventsv1.Event{
		Metadata:                 e.GetMetadata(),
		EventTime:                e.GetEventTime(),
		ReportingController:      e.GetReportingComponent(),
		ReportingInstance:        e.GetReportingInstance(),
		Action:                   e.GetAction(),
		Reason:                   e.GetReason(),
		Regarding:                e.GetInvolvedObject(),
		Related:                  e.GetRelated(),
		Note:                     e.GetMessage(),
		Type:                     e.GetType(),
		DeprecatedSource:         e.GetSource(),
		DeprecatedFirstTimestamp: e.GetFirstTimestamp(),
		DeprecatedLastTimestamp:  e.GetLastTimestamp(),
		DeprecatedCount:          e.GetCount(),
	}
	if s := e.GetSeries(); s != nil {
		out.Series = &eventsv1.EventSeries{Count: s.GetCount(), LastObservedTime: s.GetLastObservedTime()}
	}
	return out
}
