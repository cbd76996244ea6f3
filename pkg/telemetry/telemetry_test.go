package telemetry

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"go.opentelemetry.io/otel/trace"
)

func TestAnnotationRoundTrip(t *testing.T) {
	if got := InjectAnnotation(context.Background(), nil); got != nil {
		t.Errorf("without a span: got %v, want nil", got)
	}
	tid, _ := trace.TraceIDFromHex("0123456789abcdef0123456789abcdef")
	sid, _ := trace.SpanIDFromHex("0123456789abcdef")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	in := map[string]string{"a": "b"}
	got := InjectAnnotation(ctx, in)
	want := "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"
	if got[TraceAnnotation] != want || got["a"] != "b" {
		t.Errorf("got %v, want traceparent %s and a=b", got, want)
	}
	if _, changed := in[TraceAnnotation]; changed {
		t.Error("InjectAnnotation must not change its argument")
	}
	back := trace.SpanContextFromContext(ContextFromAnnotations(context.Background(), got))
	if back.TraceID() != tid || !back.IsRemote() {
		t.Errorf("got %v, want remote span context of trace %s", back, tid)
	}
}

func TestContinuerJoinsEachWriteOnce(t *testing.T) {
	var c Continuer
	ann := func(tp string) map[string]string { return map[string]string{TraceAnnotation: tp} }
	first := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	second := "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"
	traced := func(ctx context.Context) bool { return trace.SpanContextFromContext(ctx).IsValid() }
	ctx := context.Background()
	if !traced(c.Context(ctx, "a", ann(first))) {
		t.Fatal("the first meeting with a write is not traced")
	}
	if traced(c.Context(ctx, "a", ann(first))) {
		t.Error("the same write joined twice")
	}
	if !traced(c.Context(ctx, "b", ann(first))) {
		t.Error("another key with the same write is not traced")
	}
	if !traced(c.Context(ctx, "a", ann(second))) {
		t.Error("a new write to the object is not traced")
	}
	c.Forget("a")
	if !traced(c.Context(ctx, "a", ann(second))) {
		t.Error("after Forget the write is not traced again")
	}
	if traced(c.Context(ctx, "c", nil)) {
		t.Error("an object without a trace got one")
	}
}

// receiver is an OTLP/gRPC trace receiver that counts the spans it gets.
type receiver struct {
	coltracepb.UnimplementedTraceServiceServer
	spans atomic.Int64
}

func (r *receiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans.Add(int64(len(ss.GetSpans())))
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// startReceiver serves a receiver on a free loopback port.
func startReceiver(t *testing.T) (string, *receiver) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, r)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String(), r
}

// TestOnlyChosenRootsStartTraces: a span without a parent is exported
// only when StartTraces says so of its name; a span in a sampled trace
// someone else started always is.
func TestOnlyChosenRootsStartTraces(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want int64 // of the three spans: root "write", root "read", child of a sampled remote parent
	}{
		{"a component", nil, 1},
		{"the apiserver", []Option{StartTraces(func(n string) bool { return n == "write" })}, 2},
	} {
		addr, r := startReceiver(t)
		shutdown, err := Setup(context.Background(), "test", addr, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		tr := otel.Tracer("test")
		_, s1 := tr.Start(context.Background(), "write")
		s1.End()
		_, s2 := tr.Start(context.Background(), "read")
		s2.End()
		remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true}))
		_, s3 := tr.Start(remote, "continued")
		s3.End()
		if err := shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := r.spans.Load(); got != tc.want {
			t.Errorf("%s: %d spans exported, want %d", tc.name, got, tc.want)
		}
	}
}

// TestSetupTakesBothEndpointForms: spans reach the receiver named as
// host:port, and in the URL form that OpenTelemetry's own
// $OTEL_EXPORTER_OTLP_ENDPOINT has.
func TestSetupTakesBothEndpointForms(t *testing.T) {
	addr, r := startReceiver(t)
	all := StartTraces(func(string) bool { return true })
	for i, ep := range []string{addr, "http://" + addr} {
		shutdown, err := Setup(context.Background(), "test", ep, all)
		if err != nil {
			t.Fatalf("Setup(%q): %v", ep, err)
		}
		_, span := otel.Tracer("test").Start(context.Background(), "op")
		span.End()
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("Setup(%q): flush: %v", ep, err)
		}
		if got := r.spans.Load(); got != int64(i+1) {
			t.Errorf("Setup(%q): the receiver has %d spans, want %d", ep, got, i+1)
		}
	}
}
