// Package component is what every Skiff process does alike: main's flag
// parsing and signal handling, and the logs and traces set up from the
// --log-level and --otlp-endpoint flags.
package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/telemetry"
)

// Flags is a service's options as main sees them.
type Flags interface {
	AddFlags(fs *pflag.FlagSet)
}

// Main parses the command line into opts and calls run until SIGINT or
// SIGTERM. --help exits 0, bad flags 2, and an error from run prints
// "name: error" and exits 1.
func Main(name string, opts Flags, run func(ctx context.Context) error) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	opts.AddFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Observability holds the flags every service has for its logs and
// traces; services embed it in their options.
type Observability struct {
	LogLevel     string
	OTLPEndpoint string
}

// DefaultObservability logs at info and exports traces to
// $OTEL_EXPORTER_OTLP_ENDPOINT, if set.
func DefaultObservability() Observability {
	return Observability{LogLevel: "info", OTLPEndpoint: os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")}
}

// AddFlags registers --log-level and --otlp-endpoint.
func (o *Observability) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "debug, info, warn or error.")
	fs.StringVar(&o.OTLPEndpoint, "otlp-endpoint", o.OTLPEndpoint, "OTLP/gRPC endpoint for traces (default $OTEL_EXPORTER_OTLP_ENDPOINT); none exports nothing.")
}

// Validate checks the log level.
func (o *Observability) Validate() error {
	_, err := o.level()
	return err
}

// Level is the chosen log level (info when it is not valid).
func (o *Observability) Level() slog.Level {
	l, err := o.level()
	if err != nil {
		return slog.LevelInfo
	}
	return l
}

func (o *Observability) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(o.LogLevel))); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.LogLevel)
	}
	return l, nil
}

// Setup makes slog log text to stderr at the chosen level and starts
// tracing as service; the returned func flushes the traces at exit.
// opts go to telemetry.Setup (the apiserver's telemetry.StartTraces).
func (o *Observability) Setup(ctx context.Context, service string, opts ...telemetry.Option) (flush func(), err error) {
	level, err := o.level()
	if err != nil {
		return nil, err
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	shutdown, err := telemetry.Setup(ctx, service, o.OTLPEndpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return func() { _ = shutdown(context.WithoutCancel(ctx)) }, nil
}
