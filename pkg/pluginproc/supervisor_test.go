package pluginproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"skiff.dev/pkg/pluginproc/pluginproctest"
)

func TestMain(m *testing.M) { pluginproctest.Main(m) }

// echoPlugin is the host's side of testdata/echo: dispensing it yields
// the connection.
type echoPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (echoPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host side only")
}

func (echoPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

// echo calls the plugin through s.
func echo(ctx context.Context, s *Supervisor, timeout time.Duration, what string) (string, error) {
	out := new(wrapperspb.StringValue)
	err := s.Call(ctx, timeout, func(ctx context.Context, inst *Instance) error {
		return inst.Client.(*grpc.ClientConn).Invoke(ctx, "/skiff.test.Echo/Echo", wrapperspb.String(what), out)
	})
	return out.GetValue(), err
}

// records keeps the log records a test's supervisor writes.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec.Clone())
	return nil
}

// find is the first record with msg.
func (r *records) find(msg string) (slog.Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.list {
		if rec.Message == msg {
			return rec, true
		}
	}
	return slog.Record{}, false
}

type fixture struct {
	s                *Supervisor
	starts, restarts atomic.Int32
	logs             records
}

// supervise starts testdata/echo under a supervisor with quick checks and
// back-off and runs it until the test ends.
func supervise(t *testing.T, tweak func(*Config)) *fixture {
	t.Helper()
	f := &fixture{}
	cfg := Config{Name: "echo", Path: pluginproctest.Build(t, "./testdata/echo"), Dispense: "echo",
		Handshake: plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "SKIFF_TEST_ECHO", MagicCookieValue: "echo"},
		Plugins:   plugin.PluginSet{"echo": echoPlugin{}},
		OnStart:   func(context.Context, *Instance) error { f.starts.Add(1); return nil },
		Restarted: func() { f.restarts.Add(1) },
		Logger:    slog.New(&f.logs), Level: slog.LevelInfo,
		Backoff:       &Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Healthy: time.Minute},
		CheckInterval: 50 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	f.s = s
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// restarted waits until the plugin runs again after its n-th restart as
// another process than old, and answers.
func (f *fixture) restarted(t *testing.T, n int32, old int) {
	t.Helper()
	pluginproctest.Eventually(t, "the plugin runs again", func() error {
		st := f.s.Status()
		if st.State != StateRunning || st.Restarts != int(n) || f.restarts.Load() != n {
			return fmt.Errorf("status %+v, Restarted told %d times", st, f.restarts.Load())
		}
		if st.Pid == old || st.Pid == 0 {
			return fmt.Errorf("pid %d, was %d", st.Pid, old)
		}
		_, err := echo(context.Background(), f.s, 5*time.Second, "hi")
		return err
	})
	if f.starts.Load() != n+1 {
		t.Fatalf("OnStart ran %d times, want %d", f.starts.Load(), n+1)
	}
}

func TestPluginThatGoesDownIsRestarted(t *testing.T) {
	for _, tc := range []struct {
		name string
		// down brings the plugin at pid down; err is what a call that
		// did it returned (nil if none did).
		down func(t *testing.T, s *Supervisor, pid int) error
		// reason is in the status's LastError.
		reason string
	}{
		{"crash in a call", func(t *testing.T, s *Supervisor, _ int) error {
			_, err := echo(context.Background(), s, 5*time.Second, "crash")
			return err
		}, "Unavailable"},
		{"hang in a call", func(t *testing.T, s *Supervisor, _ int) error {
			_, err := echo(context.Background(), s, 300*time.Millisecond, "hang")
			return err
		}, "hung"},
		{"killed from outside", func(t *testing.T, _ *Supervisor, pid int) error {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			return nil
		}, "plugin process exited"},
		{"stopped: fails its health check", func(t *testing.T, _ *Supervisor, pid int) error {
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			return nil
		}, "health check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := supervise(t, func(c *Config) { c.HealthInterval, c.HealthTimeout = 100*time.Millisecond, 300*time.Millisecond })
			got, err := echo(context.Background(), f.s, 5*time.Second, "hi")
			pid := f.s.Pid()
			if err != nil || got != fmt.Sprintf("hi from %d", pid) {
				t.Fatalf("first call: got %q, %v, want an answer from %d", got, err, pid)
			}
			if err := tc.down(t, f.s, pid); err != nil && !errors.Is(err, ErrUnavailable) {
				t.Fatalf("the call that brought the plugin down: got %v, want ErrUnavailable", err)
			}
			f.restarted(t, 1, pid)
			if st := f.s.Status(); !strings.Contains(st.LastError, tc.reason) || st.LastErrorTime.IsZero() {
				t.Fatalf("status after the restart: got %+v, want a LastError with %q", st, tc.reason)
			}
			if _, ok := f.logs.find("plugin restarted"); !ok {
				t.Fatal("the restart was not logged")
			}
		})
	}
}

func TestPluginErrorIsNoCrash(t *testing.T) {
	f := supervise(t, nil)
	pid := f.s.Pid()
	_, err := echo(context.Background(), f.s, 5*time.Second, "fail")
	if errors.Is(err, ErrUnavailable) || status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a plugin's error: got %v, want its FailedPrecondition as it is", err)
	}
	if st := f.s.Status(); st.State != StateRunning || st.Pid != pid || st.Restarts != 0 || st.LastError != "" {
		t.Fatalf("status after a plugin's error: got %+v, want running as %d", st, pid)
	}
}

func TestRestartBacksOffWhileStartsFail(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "fail")
	f := supervise(t, func(c *Config) { c.Env = []string{"ECHO_FAIL_IF=" + marker} })
	pid := f.s.Pid()
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := echo(context.Background(), f.s, 5*time.Second, "crash"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("crash: got %v", err)
	}
	pluginproctest.Eventually(t, "failed starts show in the status", func() error {
		st := f.s.Status()
		if st.State != StateRestarting || !strings.Contains(st.LastError, "start plugin echo") || st.Ready() == nil {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if _, err := echo(context.Background(), f.s, 5*time.Second, "hi"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "start plugin echo") {
		t.Fatalf("a call while the plugin cannot start: got %v, want ErrUnavailable with the reason", err)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	f.restarted(t, 1, pid)
	if err := f.s.Status().Ready(); err != nil {
		t.Fatalf("ready after the restart: %v", err)
	}
}

func TestRunStopsThePluginWhenItsContextEnds(t *testing.T) {
	bin := pluginproctest.Build(t, "./testdata/echo")
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Config{Name: "echo", Path: bin, Dispense: "echo",
		Handshake: plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "SKIFF_TEST_ECHO", MagicCookieValue: "echo"},
		Plugins:   plugin.PluginSet{"echo": echoPlugin{}}, Logger: slog.New(&records{})})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := s.Instance()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	cancel()
	<-done
	if !inst.proc.exited() {
		t.Fatal("the plugin still runs after Run returned")
	}
	if _, err := os.Stat(inst.proc.dir); !os.IsNotExist(err) {
		t.Fatalf("the socket directory %s is left: %v", inst.proc.dir, err)
	}
	if st := s.Status(); st.State != StateStopped || st.Pid != 0 {
		t.Fatalf("status: got %+v, want Stopped", st)
	}
	if _, err := echo(context.Background(), s, time.Second, "hi"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("a call after the stop: got %v", err)
	}
}

func TestPluginLogsReachTheHostsLogger(t *testing.T) {
	f := supervise(t, nil)
	if _, err := echo(context.Background(), f.s, 5*time.Second, "log"); err != nil {
		t.Fatal(err)
	}
	var rec slog.Record
	pluginproctest.Eventually(t, "the plugin's line is logged", func() error {
		var ok bool
		if rec, ok = f.logs.find("hello from the plugin"); !ok {
			return errors.New("not yet")
		}
		return nil
	})
	attrs := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
	if rec.Level != slog.LevelWarn || attrs["plugin"] != "plugin.echo" || attrs["answer"] != "42" {
		t.Fatalf("the plugin's line: level %v, attributes %v", rec.Level, attrs)
	}
	pluginproctest.Eventually(t, "the plugin's plain output is logged", func() error {
		if _, ok := f.logs.find("a plain line"); !ok {
			return errors.New("not yet")
		}
		return nil
	})
}

func TestStartFails(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no path":        {Name: "x"},
		"not a plugin":   {Name: "x", Path: "/bin/true"},
		"no such binary": {Name: "x", Path: "/nonexistent/plugin"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Logger = slog.New(&records{})
			if s, err := Start(context.Background(), cfg); err == nil {
				s.Stop()
				t.Fatal("started")
			}
		})
	}
	bin := pluginproctest.Build(t, "./testdata/echo")
	_, err := Start(context.Background(), Config{Name: "echo", Path: bin, Dispense: "echo",
		Handshake: plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "SKIFF_TEST_ECHO", MagicCookieValue: "echo"},
		Plugins:   plugin.PluginSet{"echo": echoPlugin{}}, Logger: slog.New(&records{}),
		OnStart: func(context.Context, *Instance) error { return errors.New("not my kind of plugin") }})
	if err == nil || !strings.Contains(err.Error(), "not my kind of plugin") {
		t.Fatalf("a failing OnStart: got %v", err)
	}
}
