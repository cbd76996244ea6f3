package clientgo

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

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
