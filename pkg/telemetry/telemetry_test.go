package telemetry

import (
	"context"
	"testing"

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
