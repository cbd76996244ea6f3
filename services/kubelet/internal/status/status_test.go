package status

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/kubelet/internal/grpctest"
)

// podService records the traceparent each status write carries.
type podService struct {
	corev1.UnimplementedPodServiceServer
	traceparents chan string
}

func (s *podService) UpdateStatus(ctx context.Context, req *corev1.UpdatePodRequest) (*corev1.Pod, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.traceparents <- strings.Join(md.Get("traceparent"), ",")
	return req.GetObject(), nil
}

// TestStatusWritesAndThePodsTrace: the apiserver stores the trace of
// every write in the object's trace annotation, so a status write outside
// the pod's trace while it starts would cut the pod off the trace that
// created it; once the pod runs ready, a later status change is not part
// of that write.
func TestStatusWritesAndThePodsTrace(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ready := func(s string) []*corev1.PodCondition { return []*corev1.PodCondition{{Type: "Ready", Status: s}} }
	for _, tc := range []struct {
		name     string
		from, to *corev1.PodStatus
		traced   bool
	}{
		{"starting", &corev1.PodStatus{Phase: "Pending"}, &corev1.PodStatus{Phase: "Running"}, true},
		{"settled", &corev1.PodStatus{Phase: "Running", Conditions: ready("True")}, &corev1.PodStatus{Phase: "Running", Conditions: ready("False")}, false},
	} {
		svc := &podService{traceparents: make(chan string, 1)}
		c := grpctest.Serve(t, func(s *grpc.Server) { corev1.RegisterPodServiceServer(s, svc) })
		pod := &corev1.Pod{
			Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default", Uid: "u1",
				Annotations: map[string]string{telemetry.TraceAnnotation: "00-" + traceID + "-00f067aa0ba902b7-01"}},
			Status: tc.from,
		}
		m := New(c, func(string, string) (*corev1.Pod, bool) { return pod, true })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()

		m.Set(pod, tc.to)
		select {
		case got := <-svc.traceparents:
			if strings.Contains(got, traceID) != tc.traced {
				t.Errorf("%s pod: status write carries traceparent %q; in trace %s: want %v", tc.name, got, traceID, tc.traced)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s pod: no status write within 10s", tc.name)
		}
		cancel()
		<-done
	}
}
