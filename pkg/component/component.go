// Package component is what every Skiff process does alike: main's flag
// parsing and signal handling, and the logs and traces set up from the
// --log-level and --otlp-endpoint flags.
package component

import (
	"context"
	"errors"
	"fmt"
	"io"
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
// SIGTERM. --help prints the usage and exits 0; a bad flag prints what is
// wrong and the usage and exits 2; an error from run prints "name: error"
// and exits 1.
func Main(name string, opts Flags, run func(ctx context.Context) error) {
	if code, stop := parseFlags(name, opts, os.Args[1:], os.Stderr); stop {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// parseFlags parses args into opts; stop tells main to exit with code
// (0 after --help, 2 after a bad flag) instead of running.
func parseFlags(name string, opts Flags, args []string, stderr io.Writer) (code int, stop bool) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	opts.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of %s:\n%s", name, fs.FlagUsages())
	}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, pflag.ErrHelp):
		return 0, true // pflag printed the usage
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	fs.Usage()
	return 2, true
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
