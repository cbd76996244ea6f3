package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/services/apiserver/internal/authorizer"
)

// Options are the --audit-* flags, Kubernetes' names and defaults.
type Options struct {
	PolicyFile string
	Log        LogConfig
	Webhook    WebhookConfig
}

// NewOptions returns Kubernetes' defaults.
func NewOptions() Options {
	return Options{
		Log: LogConfig{Format: "json", Mode: ModeBlocking, BufferSize: 10000},
		Webhook: WebhookConfig{InitialBackoff: 10 * time.Second, BufferSize: 10000, BatchMaxSize: 400,
			BatchMaxWait: 30 * time.Second, ThrottleQPS: 10, ThrottleBurst: 15},
	}
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.PolicyFile, "audit-policy-file", o.PolicyFile, "audit.k8s.io/v1 Policy (YAML or JSON) deciding what is recorded of each request; without it nothing is.")
	fs.StringVar(&o.Log.Path, "audit-log-path", o.Log.Path, "Write audit events to this file as JSON lines ('-' is standard output).")
	fs.IntVar(&o.Log.MaxAge, "audit-log-maxage", o.Log.MaxAge, "Days to keep rotated audit log files (by the time in their names); 0 keeps them.")
	fs.IntVar(&o.Log.MaxBackups, "audit-log-maxbackup", o.Log.MaxBackups, "Rotated audit log files to keep; 0 keeps them all.")
	fs.IntVar(&o.Log.MaxSize, "audit-log-maxsize", o.Log.MaxSize, "Megabytes the audit log reaches before it is rotated; 0 is 100.")
	fs.BoolVar(&o.Log.Compress, "audit-log-compress", o.Log.Compress, "Gzip rotated audit log files.")
	fs.StringVar(&o.Log.Format, "audit-log-format", o.Log.Format, "Format of the audit log: json (one audit.k8s.io/v1 Event a line).")
	fs.StringVar(&o.Log.Mode, "audit-log-mode", o.Log.Mode, "blocking: a request waits when the audit log's buffer is full, no event is lost; batch: events are dropped then.")
	fs.IntVar(&o.Log.BufferSize, "audit-log-batch-buffer-size", o.Log.BufferSize, "Events buffered for the audit log before requests wait (blocking) or events are dropped (batch).")
	fs.StringVar(&o.Webhook.ConfigFile, "audit-webhook-config-file", o.Webhook.ConfigFile, "Kubeconfig naming the HTTPS endpoint audit events are posted to, as EventList batches.")
	fs.DurationVar(&o.Webhook.InitialBackoff, "audit-webhook-initial-backoff", o.Webhook.InitialBackoff, "Wait before retrying a failed post to the audit webhook; later retries wait 1.5 times longer each (5 tries).")
	fs.IntVar(&o.Webhook.BufferSize, "audit-webhook-batch-buffer-size", o.Webhook.BufferSize, "Events buffered for the audit webhook; more are dropped.")
	fs.IntVar(&o.Webhook.BatchMaxSize, "audit-webhook-batch-max-size", o.Webhook.BatchMaxSize, "Most events in one post to the audit webhook.")
	fs.DurationVar(&o.Webhook.BatchMaxWait, "audit-webhook-batch-max-wait", o.Webhook.BatchMaxWait, "Longest an event waits for its batch to fill before it is posted.")
	fs.Float64Var(&o.Webhook.ThrottleQPS, "audit-webhook-batch-throttle-qps", o.Webhook.ThrottleQPS, "Most batches posted a second.")
	fs.IntVar(&o.Webhook.ThrottleBurst, "audit-webhook-batch-throttle-burst", o.Webhook.ThrottleBurst, "Batches posted at once when none were for a while.")
}

// Validate checks the flags.
func (o *Options) Validate() []error {
	errs := append(o.Log.Validate(), o.Webhook.Validate()...)
	if o.PolicyFile != "" {
		if _, err := LoadPolicy(o.PolicyFile); err != nil {
			errs = append(errs, fmt.Errorf("--audit-policy-file: %w", err))
		}
	}
	return errs
}

// Build loads the policy and starts the backends. The Auditor is nil when
// nothing is to be recorded; shutdown writes out what the backends hold.
// describe tells how authorization sees an HTTP request.
func (o *Options) Build(describe func(*http.Request) authorizer.Attributes) (a *Auditor, shutdown func(context.Context) error, err error) {
	none := func(context.Context) error { return nil }
	if o.PolicyFile == "" {
		if o.Log.Path != "" || o.Webhook.ConfigFile != "" {
			slog.Warn("audit backends are configured but no --audit-policy-file is given: nothing is recorded")
		}
		return nil, none, nil
	}
	policy, err := LoadPolicy(o.PolicyFile)
	if err != nil {
		return nil, nil, err
	}
	var sinks Union
	var backends []interface{ Shutdown(context.Context) error }
	stop := func(ctx context.Context) error { return shutdownAll(ctx, backends...) }
	if o.Log.Path != "" {
		l, err := NewLog(o.Log)
		if err != nil {
			return nil, nil, err
		}
		sinks, backends = append(sinks, l), append(backends, l)
	}
	if o.Webhook.ConfigFile != "" {
		w, err := NewWebhook(o.Webhook)
		if err != nil {
			_ = stop(context.Background())
			return nil, nil, err
		}
		sinks, backends = append(sinks, w), append(backends, w)
	}
	if len(sinks) == 0 {
		slog.Warn("--audit-policy-file is given but no audit backend (--audit-log-path, --audit-webhook-config-file): nothing is recorded")
		return nil, none, nil
	}
	var sink Sink = sinks
	if len(sinks) == 1 {
		sink = sinks[0]
	}
	return New(policy, sink, describe), stop, nil
}

// shutdownAll stops backends in turn within ctx.
func shutdownAll(ctx context.Context, backends ...interface{ Shutdown(context.Context) error }) error {
	var errs []error
	for _, b := range backends {
		errs = append(errs, b.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
