package component

import (
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
