package cli

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"skiff.dev/cmd/internal/jaegerapi"
)

func testEnv(vars map[string]string) (Env, *strings.Builder, *strings.Builder) {
	var out, errOut strings.Builder
	return Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return vars[k] }}, &out, &errOut
}

func TestMainHelpAndUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"plugin help", []string{"--help"}, 0, "kubectl skiff COMMAND", ""},
		{"trace help", []string{"trace", "--help"}, 0, "kubectl skiff trace TYPE/NAME", ""},
		{"trace help names the flags", []string{"trace", "-h"}, 0, "--traces-url", ""},
		{"no command", nil, 1, "", "error: no command"},
		{"unknown command", []string{"tarce"}, 1, "", `unknown command "tarce"`},
		{"no object", []string{"trace"}, 1, "", "name one object as TYPE/NAME"},
		{"bad flag", []string{"trace", "--nope", "pod/x"}, 1, "", "unknown flag: --nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, out, errOut := testEnv(nil)
			if code := Main(context.Background(), tc.args, env); code != tc.code {
				t.Errorf("got exit code %d, want %d (stderr %q)", code, tc.code, errOut.String())
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("got stdout %q and stderr %q, want %q and %q", out.String(), errOut.String(), tc.stdout, tc.stderr)
			}
		})
	}
}

func TestSampled(t *testing.T) {
	for tp, want := range map[string]bool{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": true,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03": true,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00": false,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7":    false,
	} {
		if got := sampled(tp); got != want {
			t.Errorf("sampled(%q) = %v, want %v", tp, got, want)
		}
	}
}

func TestTraceIDOf(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", false},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "", false},
		{"00-4bf92f35-00f067aa0ba902b7-01", "", false},
		{"", "", false},
	} {
		got, err := traceIDOf(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("traceIDOf(%q): got %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestCollectorErrorsSayWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"not yet", jaegerapi.ErrNotFound, "trace abc is not (yet) in the collector at http://j:16686"},
		{"down", &jaegerapi.UnreachableError{URL: "http://j:16686", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}},
			"cannot reach the trace collector at http://j:16686"},
		{"slow", context.DeadlineExceeded, "did not answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := collectorError(tc.err, "abc", "http://j:16686").Error(); !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want it to say %q", got, tc.want)
			}
		})
	}
}

func TestWidth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		flag     int
		terminal int
		columns  string
		want     int
	}{
		{"flag first", 100, 120, "90", 100},
		{"then the terminal", 0, 120, "90", 120},
		{"then COLUMNS", 0, 0, "90", 90},
		{"else 80", 0, 0, "", 80},
		{"bad COLUMNS", 0, 0, "wide", 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, _ := testEnv(map[string]string{"COLUMNS": tc.columns})
			env.Width = tc.terminal
			if got := env.width(tc.flag); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestTracesURLDefaults(t *testing.T) {
	env, _, _ := testEnv(nil)
	if o, _ := traceFlags(env); o.tracesURL != DefaultTracesURL {
		t.Errorf("got %q, want %q", o.tracesURL, DefaultTracesURL)
	}
	env, _, _ = testEnv(map[string]string{"SKIFF_TRACES_URL": "http://jaeger:16686"})
	if o, _ := traceFlags(env); o.tracesURL != "http://jaeger:16686" {
		t.Errorf("got %q, want $SKIFF_TRACES_URL", o.tracesURL)
	}
}
