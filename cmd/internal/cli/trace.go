package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/cmd/internal/jaegerapi"
	"skiff.dev/cmd/internal/kubeobject"
	"skiff.dev/cmd/internal/waterfall"
	"skiff.dev/pkg/telemetry"
)

// DefaultTracesURL is the collector's query API when neither --traces-url
// nor $SKIFF_TRACES_URL says otherwise: a local bin/jaeger.
const DefaultTracesURL = "http://127.0.0.1:16686"

const traceUsage = `Show the trace of the last write to an object as a waterfall.

The Skiff apiserver stores the W3C traceparent of the request that wrote an
object in its %s annotation, and the controller-manager,
scheduler, kubelet and proxy continue that trace when they act on it. This
command reads the annotation and fetches the trace from a Jaeger query API
(GET /api/traces/<trace id>): one row per span in start order, the
operation indented under its parent, its start from the trace's start, its
duration and a bar on the trace's time line.

Components send their spans to the collector in batches, every 5s. When the
newest span of the trace ended less than %s ago, the trace is probably still
growing, and the command says so after the waterfall; --wait waits until it
has stopped (at most --request-timeout).

Usage:
  kubectl skiff trace TYPE/NAME [flags]
  kubectl skiff trace TYPE NAME [flags]

Examples:
  kubectl skiff trace deployment/web
  kubectl skiff trace pod web-7c9d5-x2x4q -n shop
  kubectl skiff trace deploy/web --traces-url http://127.0.0.1:16686
  kubectl scale deployment/web --replicas=3 && kubectl skiff trace deployment/web --wait

Flags:
`

// traceOptions are the flags of kubectl skiff trace.
type traceOptions struct {
	object    kubeobject.Config
	tracesURL string
	width     int
	timeout   time.Duration
	wait      bool
}

func traceFlags(env Env) (*traceOptions, *pflag.FlagSet) {
	o := &traceOptions{tracesURL: env.Getenv("SKIFF_TRACES_URL"), timeout: 30 * time.Second}
	if o.tracesURL == "" {
		o.tracesURL = DefaultTracesURL
	}
	fs := pflag.NewFlagSet("trace", pflag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.StringVarP(&o.object.Namespace, "namespace", "n", "", "the object's namespace (default: the context's, else default)")
	fs.StringVar(&o.object.Kubeconfig, "kubeconfig", "", "path of the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&o.object.Context, "context", "", "the kubeconfig context to use")
	fs.StringVar(&o.tracesURL, "traces-url", o.tracesURL, "base URL of the Jaeger query API; $SKIFF_TRACES_URL sets the default")
	fs.IntVar(&o.width, "width", 0, "columns of the waterfall (default: the terminal's, else $COLUMNS, else 80)")
	fs.DurationVar(&o.timeout, "request-timeout", o.timeout, "how long to wait for the apiserver and the trace collector")
	fs.BoolVar(&o.wait, "wait", false, "wait until the trace has stopped growing (no span ended in the last "+waterfall.FormatDuration(settleDelay)+"), at most --request-timeout")
	return o, fs
}

func runTrace(ctx context.Context, args []string, env Env) error {
	o, fs := traceFlags(env)
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, traceUsage, telemetry.TraceAnnotation, waterfall.FormatDuration(settleDelay))
		fs.SetOutput(env.Stdout)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w (see 'kubectl skiff trace --help')", err)
	}
	typ, name, err := kubeobject.ParseArgs(fs.Args())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	traceID, err := objectTrace(ctx, o.object, typ, name)
	if err != nil {
		return err
	}
	jc := &jaegerapi.Client{BaseURL: o.tracesURL, HTTP: &http.Client{}}
	fetch := func(ctx context.Context) ([]waterfall.Span, error) { return jc.Trace(ctx, traceID) }
	var spans []waterfall.Span
	if o.wait {
		spans, err = settled(ctx, fetch, time.Now, sleep)
	} else {
		spans, err = fetch(ctx)
	}
	if err != nil {
		return collectorError(err, traceID, o.tracesURL)
	}
	if err := waterfall.Render(env.Stdout, traceID, spans, env.width(o.width)); err != nil {
		return err
	}
	if grow, age := growing(spans, time.Now()); grow {
		growingNote(env.Stderr, age)
	}
	return nil
}

// objectTrace reads the trace id an object's annotation names.
func objectTrace(ctx context.Context, cfg kubeobject.Config, typ, name string) (string, error) {
	g, err := kubeobject.New(cfg)
	if err != nil {
		return "", err
	}
	ref, err := g.Resolve(typ, name)
	if err != nil {
		return "", err
	}
	ann, err := g.Annotations(ctx, ref)
	if errors.Is(err, kubeobject.ErrNotFound) {
		return "", fmt.Errorf("%s not found (check the name and -n/--namespace)", ref)
	}
	if err != nil {
		return "", err
	}
	tp, ok := ann[telemetry.TraceAnnotation]
	if !ok {
		return "", fmt.Errorf("%s has no %s annotation: the apiserver records one only while it traces (--otlp-endpoint), on the object's next write",
			ref, telemetry.TraceAnnotation)
	}
	id, err := traceIDOf(tp)
	if err != nil {
		return "", fmt.Errorf("%s: annotation %s: %w", ref, telemetry.TraceAnnotation, err)
	}
	if !sampled(tp) {
		return "", fmt.Errorf("the last write to %s was not traced (trace %s is unsampled): only writes through the REST face (kubectl, client-go) start traces, and the work they set off continues them; a component's own write outside such a trace is not recorded", ref, id)
	}
	return id, nil
}

// sampled reports whether a traceparent's flags mark its trace recorded.
func sampled(traceparent string) bool {
	parts := strings.Split(traceparent, "-")
	if len(parts) < 4 {
		return false
	}
	flags, err := strconv.ParseUint(parts[3], 16, 8)
	return err == nil && flags&1 == 1
}

// traceIDOf is the trace id of a W3C traceparent
// (version-traceid-parentid-flags).
func traceIDOf(traceparent string) (string, error) {
	parts := strings.Split(traceparent, "-")
	if len(parts) < 4 || len(parts[1]) != 32 || strings.Trim(parts[1], "0123456789abcdef") != "" || parts[1] == strings.Repeat("0", 32) {
		return "", fmt.Errorf("%q is not a W3C traceparent", traceparent)
	}
	return parts[1], nil
}

// collectorError says what went wrong with the collector and what to do.
func collectorError(err error, traceID, url string) error {
	var unreachable *jaegerapi.UnreachableError
	switch {
	case errors.Is(err, jaegerapi.ErrNotFound):
		return fmt.Errorf("trace %s is not (yet) in the collector at %s: spans arrive in batches a few seconds after the work (--wait waits for them); if it never shows, check that the services export to it (--otlp-endpoint)", traceID, url)
	case errors.As(err, &unreachable):
		return fmt.Errorf("cannot reach the trace collector at %s (%v): start one (make jaeger; bin/jaeger --config deploy/jaeger/config.yaml) or point --traces-url / $SKIFF_TRACES_URL at yours", url, unreachable.Err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the trace collector at %s did not answer in time", url)
	}
	return err
}
