// Package telemetry sets up OpenTelemetry tracing for a Skiff service and
// carries trace context on API objects: the apiserver stores the context
// of the request that wrote an object in an annotation, and whoever acts
// on the object continues that trace.
package telemetry

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// TraceAnnotation holds the W3C traceparent of the last write to an object.
const TraceAnnotation = "trace.skiff.dev/traceparent"

var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Setup installs the global tracer provider and propagator. endpoint is
// host:port (plaintext) or a URL, http://host:port or https://host:port.
// With an empty endpoint spans are not exported, but context still
// propagates.
func Setup(ctx context.Context, service, endpoint string, opts ...Option) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagator)
	if endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	var set settings
	for _, o := range opts {
		o(&set)
	}
	dial := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure()}
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		// The URL form, as OpenTelemetry's own $OTEL_EXPORTER_OTLP_ENDPOINT
		// has it: https means TLS.
		dial = []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(u.Host)}
		if u.Scheme == "http" {
			dial = append(dial, otlptracegrpc.WithInsecure())
		}
	}
	exp, err := otlptracegrpc.New(ctx, dial...)
	if err != nil {
		return nil, fmt.Errorf("create OTLP exporter for %s: %w", endpoint, err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(rootSampler{set.roots})),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Option tunes Setup.
type Option func(*settings)

type settings struct {
	roots func(name string) bool
}

// StartTraces makes a span without a parent start a trace when roots says
// so of its name: the apiserver starts the trace of a client's write.
// Without it a process records spans only inside a trace someone else
// started, so its own background work (lists and watches, lease renewals,
// resyncs) exports nothing.
func StartTraces(roots func(name string) bool) Option {
	return func(s *settings) { s.roots = roots }
}

// rootSampler decides for spans without a parent: sampled when roots
// says so.
type rootSampler struct{ roots func(name string) bool }

func (r rootSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	d := sdktrace.Drop
	if r.roots != nil && r.roots(p.Name) {
		d = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: d, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}

func (r rootSampler) Description() string { return "skiff roots" }

// InjectAnnotation records the current span's context in annotations and
// returns them; without a recording span they are returned unchanged.
func InjectAnnotation(ctx context.Context, annotations map[string]string) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return annotations
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	tp := carrier.Get("traceparent")
	if tp == "" || annotations[TraceAnnotation] == tp {
		return annotations
	}
	out := maps.Clone(annotations)
	if out == nil {
		out = map[string]string{}
	}
	out[TraceAnnotation] = tp
	return out
}

// ContextFromAnnotations continues the trace stored on an object.
func ContextFromAnnotations(ctx context.Context, annotations map[string]string) context.Context {
	tp, ok := annotations[TraceAnnotation]
	if !ok {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
}

// Continuer joins work on an object to the trace of the write stored on
// it only the first time it meets that write: a controller whose
// reconciles of an object are set off by other objects too (an Endpoints
// controller and the pods behind a Service) would otherwise add every one
// of them to a trace that ended long ago. The zero value is ready.
type Continuer struct {
	mu   sync.Mutex
	seen map[string]string // key → the traceparent last continued
}

// Context is ContextFromAnnotations the first time key comes with its
// current trace annotation, and ctx unchanged after that.
func (c *Continuer) Context(ctx context.Context, key string, annotations map[string]string) context.Context {
	tp := annotations[TraceAnnotation]
	if tp == "" {
		return ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[key] == tp {
		return ctx
	}
	if c.seen == nil {
		c.seen = map[string]string{}
	}
	c.seen[key] = tp
	return ContextFromAnnotations(ctx, annotations)
}

// Forget drops what Context remembers of key (the object is gone).
func (c *Continuer) Forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, key)
}
