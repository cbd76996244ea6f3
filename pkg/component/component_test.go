package component

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestObservability(t *testing.T) {
	o := DefaultObservability()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--log-level", "debug", "--otlp-endpoint", ""}); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("debug refused: %v", err)
	}
	flush, err := o.Setup(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	flush()
	o.LogLevel = "loud"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `--log-level "loud"`) {
		t.Errorf("bad level: %v", err)
	}
	if _, err := o.Setup(context.Background(), "test"); err == nil {
		t.Errorf("Setup accepted a bad level")
	}
}

type flagOpts struct{ Observability }

func (o *flagOpts) AddFlags(fs *pflag.FlagSet) { o.Observability.AddFlags(fs) }

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantStop bool
		wantOut  []string
	}{
		{"good flags run", []string{"--log-level", "debug"}, 0, false, nil},
		{"help prints the usage", []string{"--help"}, 0, true, []string{"Usage of scheduler:", "--log-level"}},
		{"unknown flag says so", []string{"--bogus"}, 2, true, []string{"scheduler: unknown flag: --bogus", "Usage of scheduler:", "--otlp-endpoint"}},
		{"missing value says so", []string{"--log-level"}, 2, true, []string{"flag needs an argument", "--log-level"}},
		{"stray argument", []string{"--encryption-provider-config", "x"}, 2, true, []string{"unknown flag: --encryption-provider-config"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			o := &flagOpts{DefaultObservability()}
			code, stop := parseFlags("scheduler", o, tc.args, &out)
			if code != tc.wantCode || stop != tc.wantStop {
				t.Fatalf("got code %d stop %v, want %d %v", code, stop, tc.wantCode, tc.wantStop)
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("got output %q, want it to contain %q", out.String(), want)
				}
			}
			if len(tc.wantOut) == 0 && out.Len() > 0 {
				t.Errorf("got output %q, want none", out.String())
			}
		})
	}
}
