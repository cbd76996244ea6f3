package convert

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	eventsv1 "skiff.dev/api/events/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestEventsRoundTrip(t *testing.T) {
	now := timestamppb.New(time.Date(2026, 12, 6, 8, 0, 0, 123000, time.UTC))
	ref := &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p", Uid: "u"}
	core := &corev1.Event{
		Metadata: &metav1.ObjectMeta{Name: "e", Namespace: "default"}, InvolvedObject: ref, Reason: "Started",
		Message: "started", Source: &corev1.EventSource{Component: "kubelet", Host: "n1"}, FirstTimestamp: now,
		LastTimestamp: now, Count: 3, Type: "Normal", EventTime: now, Series: &corev1.EventSeries{Count: 2, LastObservedTime: now},
		Action: "Start", Related: &corev1.ObjectReference{Kind: "Node", Name: "n1"}, ReportingComponent: "kubelet", ReportingInstance: "n1",
	}
	v1 := EventFromCore(core)
	want := &eventsv1.Event{
		Metadata: core.GetMetadata(), EventTime: now, Series: &eventsv1.EventSeries{Count: 2, LastObservedTime: now},
		ReportingController: "kubelet", ReportingInstance: "n1", Action: "Start", Reason: "Started", Regarding: ref,
		Related: core.GetRelated(), Note: "started", Type: "Normal", DeprecatedSource: core.GetSource(),
		DeprecatedFirstTimestamp: now, DeprecatedLastTimestamp: now, DeprecatedCount: 3,
	}
	if !proto.Equal(v1, want) {
		t.Fatalf("from core: got %v, want %v", v1, want)
	}
	if back := EventToCore(v1); !proto.Equal(back, core) {
		t.Fatalf("back to core: got %v, want %v", back, core)
	}
	v1.Regarding.Name = "changed"
	if core.GetInvolvedObject().GetName() != "p" {
		t.Error("the converted Event shares messages with its source")
	}
}
