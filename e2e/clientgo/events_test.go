package clientgo

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"

	"skiff.dev/e2e/framework"
)

// TestCoreEvents: core/v1 Events as client-go's event recorder and the
// conformance specs write them — no eventTime, so none of the new-style
// fields (reportingComponent, reportingInstance, action) — are accepted in
// JSON and in protobuf, which writes the unset eventTime as an empty
// message; one with an eventTime still needs them.
func TestCoreEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	for _, contentType := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		t.Run(contentType, func(t *testing.T) {
			cfg := srv.RESTConfig()
			cfg.ContentType = contentType
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			events := cs.CoreV1().Events("default")
			legacy := &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{GenerateName: "legacy-"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "default"},
				Reason:         "Started",
				Message:        "Started container",
				Type:           corev1.EventTypeNormal,
				Source:         corev1.EventSource{Component: "kubelet"},
				Count:          1,
				FirstTimestamp: metav1.Now(),
				LastTimestamp:  metav1.Now(),
			}
			got, err := events.Create(ctx, legacy, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create a core/v1 Event without eventTime: %v", err)
			}
			if !got.EventTime.IsZero() {
				t.Errorf("eventTime: got %v, want unset", got.EventTime)
			}
			if got, err = events.Get(ctx, got.Name, metav1.GetOptions{}); err != nil || !got.EventTime.IsZero() {
				t.Errorf("read back: got eventTime %v (%v), want unset", got.EventTime, err)
			}

			newStyle := legacy.DeepCopy()
			newStyle.EventTime = metav1.NowMicro()
			newStyle.FirstTimestamp, newStyle.LastTimestamp = metav1.Time{}, metav1.Time{}
			_, err = events.Create(ctx, newStyle, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create an Event with eventTime and no reportingComponent: got %v, want Invalid", err)
			}
			newStyle.ReportingController, newStyle.ReportingInstance, newStyle.Action = "example.com/ctl", "ctl-1", "Start"
			if _, err := events.Create(ctx, newStyle, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create a new-style core/v1 Event: %v", err)
			}
		})
	}
}

// TestEventsV1: events.k8s.io/v1 serves the core/v1 Events in its own
// shape (regarding, note, reportingController, deprecated*), with that
// group's stricter rules and field labels, and client-go's event recorder
// writes through it.
func TestEventsV1(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	for _, contentType := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		t.Run(contentType, func(t *testing.T) {
			cfg := srv.RESTConfig()
			cfg.ContentType = contentType
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ev-"}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			exerciseEventsV1(ctx, t, cs, ns.Name)
		})
	}
}

func exerciseEventsV1(ctx context.Context, t *testing.T, cs *kubernetes.Clientset, ns string) {
	v1Events, coreEvents := cs.EventsV1().Events(ns), cs.CoreV1().Events(ns)
	watcher, err := v1Events.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Stop()

	regarding := corev1.ObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Name: "web", Namespace: ns}
	made, err := v1Events.Create(ctx, &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "scaled"},
		EventTime: metav1.NowMicro(), ReportingController: "example.com/scaler", ReportingInstance: "scaler-1",
		Action: "Scale", Reason: "Scaled", Regarding: regarding, Note: "scaled to 3", Type: corev1.EventTypeNormal,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create an events.k8s.io/v1 Event: %v", err)
	}
	core, err := coreEvents.Get(ctx, made.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read it through core/v1: %v", err)
	}
	if core.Message != "scaled to 3" || core.InvolvedObject.Name != "web" || core.ReportingController != "example.com/scaler" || core.UID != made.UID {
		t.Errorf("through core/v1: got message %q, involvedObject %q, reportingComponent %q, uid %s; want the events.k8s.io/v1 note, regarding and reportingController, uid %s",
			core.Message, core.InvolvedObject.Name, core.ReportingController, core.UID, made.UID)
	}

	legacy, err := coreEvents.Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "pulled"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns}, Reason: "Pulled",
		Message: "image pulled", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "kubelet"},
		Count: 2, FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now()}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shown, err := v1Events.Get(ctx, legacy.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read a core/v1 Event through events.k8s.io/v1: %v", err)
	}
	if shown.Note != "image pulled" || shown.Regarding.Name != "p" || shown.DeprecatedSource.Component != "kubelet" || shown.DeprecatedCount != 2 {
		t.Errorf("through events.k8s.io/v1: got note %q, regarding %q, deprecatedSource %q, deprecatedCount %d",
			shown.Note, shown.Regarding.Name, shown.DeprecatedSource.Component, shown.DeprecatedCount)
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case ev := <-watcher.ResultChan():
			if e, ok := ev.Object.(*eventsv1.Event); ok {
				seen[e.Name] = true
			}
		case <-ctx.Done():
			t.Fatalf("the events.k8s.io/v1 watch saw %v, want scaled and pulled", seen)
		}
	}

	list, err := v1Events.List(ctx, metav1.ListOptions{FieldSelector: "regarding.kind=Deployment,reportingController=example.com/scaler"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "scaled" {
		t.Errorf("field selector on regarding.kind and reportingController: got %v (%v), want scaled", names(list), err)
	}
	// core/v1's source is the reporting controller of an events.k8s.io/v1
	// Event, which has no source.
	bySource, err := coreEvents.List(ctx, metav1.ListOptions{FieldSelector: "source=example.com/scaler"})
	if err != nil || len(bySource.Items) != 1 || bySource.Items[0].Name != "scaled" {
		t.Errorf("core/v1 field selector source: got %v (%v), want scaled", bySource, err)
	}
	// What a client writes it reads back as written (no annotation added).
	sent, err := coreEvents.Get(ctx, "pulled", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sent.Series = &corev1.EventSeries{Count: 100, LastObservedTime: metav1.MicroTime{Time: time.Unix(1505828956, 0)}}
	sent.ResourceVersion, sent.ManagedFields = "", nil
	if _, err := coreEvents.Update(ctx, sent, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := coreEvents.Get(ctx, "pulled", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	back.ResourceVersion, back.ManagedFields = "", nil
	if !equality.Semantic.DeepEqual(sent, back) {
		t.Errorf("an updated Event reads back changed: sent %+v, got %+v", sent, back)
	}
	if _, err := v1Events.List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod"}); !apierrors.IsBadRequest(err) {
		t.Errorf("a core/v1 field label through events.k8s.io/v1: got %v, want BadRequest", err)
	}

	cases := []struct {
		name  string
		event *eventsv1.Event
		field string
	}{
		{"no eventTime", &eventsv1.Event{ReportingController: "c", ReportingInstance: "i", Action: "A", Reason: "R", Type: "Normal", Regarding: regarding}, "eventTime"},
		{"a deprecated count", &eventsv1.Event{EventTime: metav1.NowMicro(), ReportingController: "c", ReportingInstance: "i", Action: "A", Reason: "R", Type: "Normal", Regarding: regarding, DeprecatedCount: 3}, "count"},
		{"no reportingController", &eventsv1.Event{EventTime: metav1.NowMicro(), ReportingInstance: "i", Action: "A", Reason: "R", Type: "Normal", Regarding: regarding}, "reportingController"},
		{"an unknown type", &eventsv1.Event{EventTime: metav1.NowMicro(), ReportingController: "c", ReportingInstance: "i", Action: "A", Reason: "R", Type: "Loud", Regarding: regarding}, "type"},
	}
	for _, c := range cases {
		c.event.GenerateName = "bad-"
		_, err := v1Events.Create(ctx, c.event, metav1.CreateOptions{})
		if !hasCause(err, c.field) {
			t.Errorf("create with %s: got %v, want Invalid on %s", c.name, err, c.field)
		}
	}
	made.Note = "changed"
	if _, err := v1Events.Update(ctx, made, metav1.UpdateOptions{}); !hasCause(err, "message") {
		t.Errorf("change the note of an events.k8s.io/v1 Event: got %v, want Invalid: message is immutable", err)
	}
	if _, err := v1Events.Get(ctx, "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) || err.Error() != `events.events.k8s.io "missing" not found` {
		t.Errorf("get a missing Event: got %v, want events.events.k8s.io \"missing\" not found", err)
	}

	// client-go's recorder (what the scheduler uses) writes events.k8s.io/v1.
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	stop := make(chan struct{})
	broadcaster.StartRecordingToSink(stop)
	defer func() { close(stop); broadcaster.Shutdown() }()
	recorder := broadcaster.NewRecorder(scheme.Scheme, "skiff-e2e")
	recorder.Eventf(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns, UID: "1"}}, nil, corev1.EventTypeWarning, "Failed", "Start", "could not start %s", "p")
	framework.Eventually(t, 30*time.Second, "the recorded event is stored", func() error {
		got, err := coreEvents.List(ctx, metav1.ListOptions{FieldSelector: "reason=Failed"})
		if err != nil {
			return err
		}
		if len(got.Items) != 1 || got.Items[0].ReportingController != "skiff-e2e" || got.Items[0].Message != "could not start p" {
			return fmt.Errorf("got %+v", got.Items)
		}
		return nil
	})
}

func names(list *eventsv1.EventList) []string {
	if list == nil {
		return nil
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Name)
	}
	return out
}

// hasCause tells whether err is Invalid with a cause on field.
func hasCause(err error, field string) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || !apierrors.IsInvalid(err) {
		return false
	}
	for _, c := range st.Status().Details.Causes {
		if c.Field == field {
			return true
		}
	}
	return false
}
