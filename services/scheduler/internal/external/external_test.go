package external

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/pluginproc"
	"skiff.dev/pkg/pluginproc/pluginproctest"
	"skiff.dev/services/scheduler/internal/framework"
)

func TestMain(m *testing.M) { pluginproctest.Main(m) }

func buildFlaky(t *testing.T) string { return pluginproctest.Build(t, "./testdata/flaky") }

func node(name string, labels map[string]string) *framework.NodeInfo {
	return framework.NewNodeInfo(&corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels}})
}

func pod(name string) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"}}
}

type counters struct{ restarts, failures, ready atomic.Int32 }

func (c *counters) hooks() Hooks {
	return Hooks{
		Restarted: func(string) { c.restarts.Add(1) },
		Failed:    func(string, string) { c.failures.Add(1) },
		Ready:     func(string) { c.ready.Add(1) },
	}
}

func start(t *testing.T, cfg Config, c *counters) *Plugin {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, cfg, slog.LevelWarn, c.hooks())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	pluginproctest.Eventually(t, what, func() error {
		if !cond() {
			return errors.New("not yet")
		}
		return nil
	})
}

func TestCallsAndNodeSync(t *testing.T) {
	bin := buildFlaky(t)
	var c counters
	p := start(t, Config{Name: "flaky", Path: bin, FailurePolicy: Fail}, &c)
	for _, point := range []string{framework.PointFilter, framework.PointScore, framework.PointPermit} {
		if !p.Serves(point) {
			t.Errorf("plugin does not serve %s", point)
		}
	}
	ctx := context.Background()
	nodes := []*framework.NodeInfo{node("a", map[string]string{"score": "10"}), node("b", map[string]string{"bad": "true"}),
		node("c", map[string]string{"score": "70", "nopermit": "true"})}
	state := framework.NewCycleState(nodes)

	rejected, st := p.FilterNodes(ctx, state, pod("p"), nodes)
	if !st.IsSuccess() || len(rejected) != 1 || rejected["b"].Message() != "node(s) were bad" {
		t.Fatalf("filter: %v %v", rejected, st)
	}
	scores, st := p.ScoreNodes(ctx, state, pod("p"), []*framework.NodeInfo{nodes[0], nodes[2]})
	if !st.IsSuccess() || scores[0] != 10 || scores[1] != 70 {
		t.Fatalf("score: %v %v", scores, st)
	}
	if st := p.Permit(ctx, state, pod("p"), "c"); st.IsSuccess() || st.Message() != "not permitted" {
		t.Fatalf("permit on c: %v", st)
	}

	// A changed node reaches the plugin; a removed one is forgotten.
	nodes = []*framework.NodeInfo{node("a", map[string]string{"bad": "true"}), nodes[2]}
	state = framework.NewCycleState(nodes)
	if rejected, _ := p.FilterNodes(ctx, state, pod("p"), nodes); len(rejected) != 1 || rejected["a"] == nil {
		t.Fatalf("filter after a's change: %v", rejected)
	}
	if len(p.sent) != 2 {
		t.Fatalf("plugin holds %d nodes, want 2", len(p.sent))
	}
	if _, st := p.FilterNodes(ctx, state, pod("p"), []*framework.NodeInfo{node("b", nil)}); st.IsSuccess() {
		t.Fatal("filtering a node that was removed succeeded")
	}
	if c.failures.Load() != 1 || c.restarts.Load() != 0 {
		t.Fatalf("failures %d, restarts %d: want one failed call and no restart", c.failures.Load(), c.restarts.Load())
	}
}

func TestCrashedPluginIsIgnoredAndRestarted(t *testing.T) {
	bin := buildFlaky(t)
	var c counters
	p := start(t, Config{Name: "flaky", Path: bin, FailurePolicy: Ignore}, &c)
	ctx := context.Background()
	nodes := []*framework.NodeInfo{node("a", nil), node("b", map[string]string{"bad": "true"})}
	state := framework.NewCycleState(nodes)

	// The plugin exits mid-call: Ignore lets every node through.
	rejected, st := p.FilterNodes(ctx, state, pod("crash"), nodes)
	if !st.IsSuccess() || len(rejected) != 0 {
		t.Fatalf("crashed call: %v %v", rejected, st)
	}
	if c.failures.Load() != 1 {
		t.Fatalf("failures: %d", c.failures.Load())
	}
	eventually(t, "restart", func() bool { return c.restarts.Load() == 1 && c.ready.Load() == 1 })
	rejected, st = p.FilterNodes(ctx, state, pod("p"), nodes)
	if !st.IsSuccess() || rejected["b"] == nil {
		t.Fatalf("after restart: %v %v", rejected, st)
	}
	if s := p.Status(); s.State != pluginproc.StateRunning || s.Restarts != 1 || s.LastError == "" {
		t.Fatalf("status after the restart: %+v", s)
	}
}

func TestHungPluginFailsClosedAndIsRestarted(t *testing.T) {
	bin := buildFlaky(t)
	var c counters
	p := start(t, Config{Name: "flaky", Path: bin, FailurePolicy: Fail, Timeout: Duration{300 * time.Millisecond}}, &c)
	ctx := context.Background()
	nodes := []*framework.NodeInfo{node("a", nil)}
	state := framework.NewCycleState(nodes)

	if _, st := p.ScoreNodes(ctx, state, pod("hang"), nodes); st.IsSuccess() || st.Code != framework.Error {
		t.Fatalf("hung call: %v", st)
	}
	if c.failures.Load() != 1 {
		t.Fatalf("failures: %d", c.failures.Load())
	}
	eventually(t, "restart", func() bool { return c.restarts.Load() == 1 })
	if st := p.Permit(ctx, state, pod("p"), "a"); !st.IsSuccess() {
		t.Fatalf("after restart: %v", st)
	}
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no name":        {Path: "/bin/true"},
		"no path":        {Name: "x"},
		"bad point":      {Name: "x", Path: "/bin/true", ExtensionPoints: []string{"reserve"}},
		"bad policy":     {Name: "x", Path: "/bin/true", FailurePolicy: "Maybe"},
		"negative limit": {Name: "x", Path: "/bin/true", Timeout: Duration{-time.Second}},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	cfg := Config{Name: "x", Path: "/bin/true"}
	if err := cfg.Validate(); err != nil || cfg.FailurePolicy != Ignore || cfg.Timeout.Duration != time.Second {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	// A program that is not a plugin fails to start with a clear error.
	if _, err := Start(context.Background(), Config{Name: "x", Path: "/bin/true"}, slog.LevelError, Hooks{}); err == nil {
		t.Fatal("started /bin/true as a plugin")
	}
}
