package status

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/telemetry"
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

// TestStatusWriteContinuesThePodsTrace: the apiserver stores the trace of
// every write in the object's trace annotation, so a status write outside
// the pod's trace would cut the pod off the trace that created it.
func TestStatusWriteContinuesThePodsTrace(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	svc := &podService{traceparents: make(chan string, 1)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	corev1.RegisterPodServiceServer(srv, svc)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	c, err := client.New(client.Config{Address: l.Addr().String()}, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	pod := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default", Uid: "u1",
			Annotations: map[string]string{telemetry.TraceAnnotation: "00-" + traceID + "-00f067aa0ba902b7-01"}},
		Status: &corev1.PodStatus{Phase: "Pending"},
	}
	m := New(c, func(string, string) (*corev1.Pod, bool) { return pod, true })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	m.Set(pod, &corev1.PodStatus{Phase: "Running"})
	select {
	case got := <-svc.traceparents:
		if !strings.Contains(got, traceID) {
			t.Errorf("status write carries traceparent %q, want one of trace %s", got, traceID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no status write within 10s")
	}
}

// TestASettledPodsStatusWriteLeavesItsTrace: once the pod runs ready, a
// later status change is not part of the write that made the pod.
func TestASettledPodsStatusWriteLeavesItsTrace(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	svc := &podService{traceparents: make(chan string, 1)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	corev1.RegisterPodServiceServer(srv, svc)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	c, err := client.New(client.Config{Address: l.Addr().String()}, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	pod := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default", Uid: "u1",
			Annotations: map[string]string{telemetry.TraceAnnotation: "00-" + traceID + "-00f067aa0ba902b7-01"}},
		Status: &corev1.PodStatus{Phase: "Running", Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True"}}},
	}
	m := New(c, func(string, string) (*corev1.Pod, bool) { return pod, true })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	m.Set(pod, &corev1.PodStatus{Phase: "Running", Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "False"}}})
	select {
	case got := <-svc.traceparents:
		if strings.Contains(got, traceID) {
			t.Errorf("a settled pod's status write carries traceparent %q of its creation trace", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no status write within 10s")
	}
}
