package validation

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

func newStyleEvent() *corev1.Event {
	return &corev1.Event{Metadata: &metav1.ObjectMeta{Name: "e", Namespace: "default"},
		InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "default"},
		EventTime:      timestamppb.New(time.Date(2026, 12, 6, 8, 0, 0, 123456000, time.UTC)),
		Reason:         "Failed", Action: "Start", Type: "Warning", ReportingComponent: "kubelet", ReportingInstance: "n1"}
}

func TestEventsV1(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *corev1.Event)
		check  func(e *corev1.Event) field.ErrorList
		want   []want
	}{
		{"a new-style event", func(*corev1.Event) {}, ValidateEventsV1Create, nil},
		{"no eventTime", func(e *corev1.Event) { e.EventTime = nil }, ValidateEventsV1Create,
			[]want{{field.ErrorTypeRequired, "eventTime"}}},
		{"old counting fields", func(e *corev1.Event) { e.Count, e.FirstTimestamp = 2, timestamppb.Now() }, ValidateEventsV1Create,
			[]want{{field.ErrorTypeInvalid, "count"}, {field.ErrorTypeInvalid, "firstTimestamp"}}},
		{"a short series", func(e *corev1.Event) { e.Series = &corev1.EventSeries{Count: 1} }, ValidateEventsV1Create,
			[]want{{field.ErrorTypeInvalid, "series.count"}, {field.ErrorTypeRequired, "series.lastObservedTime"}}},
		{"no reportingController, named as the group names it", func(e *corev1.Event) { e.ReportingComponent = "" }, ValidateEventsV1,
			[]want{{field.ErrorTypeRequired, "reportingController"}}},
		{"no reportingComponent through core/v1", func(e *corev1.Event) { e.ReportingComponent = "" }, ValidateEvent,
			[]want{{field.ErrorTypeRequired, "reportingComponent"}}},
		{"a legacy event through core/v1", func(e *corev1.Event) { e.EventTime, e.ReportingComponent, e.Action = nil, "", "" }, ValidateEvent, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newStyleEvent()
			tt.change(e)
			expect(t, tt.check(e), tt.want...)
		})
	}
}

func TestEventsV1Update(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *corev1.Event)
		want   []want
	}{
		{"a series", func(e *corev1.Event) {
			e.Series = &corev1.EventSeries{Count: 2, LastObservedTime: timestamppb.Now()}
		}, nil},
		{"an eventTime in nanoseconds", func(e *corev1.Event) { e.EventTime.Nanos += 999 }, nil},
		{"an eventTime", func(e *corev1.Event) { e.EventTime.Seconds++ }, []want{{field.ErrorTypeInvalid, "eventTime"}}},
		{"the note", func(e *corev1.Event) { e.Message = "other" }, []want{{field.ErrorTypeInvalid, "message"}}},
		{"the object", func(e *corev1.Event) { e.InvolvedObject.Name = "q" }, []want{{field.ErrorTypeInvalid, "involvedObject"}}},
		{"the reporting controller", func(e *corev1.Event) { e.ReportingComponent = "other" }, []want{{field.ErrorTypeInvalid, "reportingController"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newStyleEvent()
			e := proto.Clone(old).(*corev1.Event)
			tt.change(e)
			expect(t, ValidateEventsV1Update(e, old), tt.want...)
		})
	}
}
