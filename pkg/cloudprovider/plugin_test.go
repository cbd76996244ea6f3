package cloudprovider

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/pluginproc"
	"skiff.dev/pkg/pluginproc/pluginproctest"
)

func TestMain(m *testing.M) { pluginproctest.Main(m) }

func buildEcho(t *testing.T) string { return pluginproctest.Build(t, "./testdata/echo") }

func node(name string) *corev1.Node {
	return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}}
}

func TestPluginCallsAndRestart(t *testing.T) {
	bin := buildEcho(t)
	ctx, cancel := context.WithCancel(context.Background())
	var starts, restarts atomic.Int32
	p, err := StartPlugin(ctx, PluginConfig{Path: bin, Config: []byte("cfg"), ClusterName: "c1", Level: slog.LevelWarn,
		Timeout: 5 * time.Second,
		OnStart: func(ctx context.Context, c Cloud) error {
			starts.Add(1)
			_, err := c.LoadBalancer.EnsureLoadBalancer(ctx, "c1", &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "first"}}, nil)
			return err
		},
		Restarted: func() { restarts.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	c := p.Cloud()
	want := Capabilities{Name: "echo", Instances: true, LoadBalancers: true, Routes: true, Zones: true}
	if c.Capabilities != want {
		t.Fatalf("capabilities: got %+v, want %+v", c.Capabilities, want)
	}
	md, err := c.Instances.InstanceMetadata(ctx, node("a"))
	if err != nil {
		t.Fatal(err)
	}
	if md.ProviderID != "echo://a" || md.InstanceType != "c1:cfg" || md.Zone != "z" || len(md.Addresses) != 1 {
		t.Fatalf("metadata: got %+v", md)
	}
	if ok, err := c.Instances.InstanceExists(ctx, node("gone")); err != nil || ok {
		t.Fatalf("InstanceExists(gone): got %v, %v, want false, nil", ok, err)
	}
	if _, err := c.Instances.InstanceExists(ctx, node("fail")); err == nil || err.Error() != "node fail: no such luck" {
		t.Fatalf("InstanceExists(fail): got %v, want the provider's message", err)
	}
	st, err := c.LoadBalancer.EnsureLoadBalancer(ctx, "c1", &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "second"}}, nil)
	if err != nil || st.GetIngress()[0].GetIp() != "192.0.2.2" {
		t.Fatalf("EnsureLoadBalancer(second): got %v, %v, want 192.0.2.2 (OnStart ensured first)", st, err)
	}
	if err := c.Routes.CreateRoute(ctx, "c1", "uid-a", Route{TargetNode: "a", DestinationCIDR: "10.1.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	routes, err := c.Routes.ListRoutes(ctx, "c1")
	if err != nil || len(routes) != 1 || routes[0].Name != "uid-a" || routes[0].DestinationCIDR != "10.1.0.0/24" {
		t.Fatalf("ListRoutes: got %+v, %v", routes, err)
	}

	pid := p.Pid()
	if _, err := c.Instances.InstanceExists(ctx, node("crash")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a call that crashed the plugin: got %v, want ErrUnavailable", err)
	}
	pluginproctest.Eventually(t, "the plugin is restarted", func() error {
		if restarts.Load() != 1 {
			return errors.New("not restarted")
		}
		_, err := c.Instances.InstanceExists(ctx, node("a"))
		return err
	})
	if p.Pid() == pid || p.Pid() == 0 {
		t.Fatalf("pid after restart: got %d, before %d", p.Pid(), pid)
	}
	if st := p.Status(); st.State != pluginproc.StateRunning || st.Restarts != 1 || st.LastError == "" {
		t.Fatalf("status after the restart: got %+v, want Running, one restart and why", st)
	}
	if starts.Load() != 2 {
		t.Fatalf("OnStart ran %d times, want 2", starts.Load())
	}
	md, err = c.Instances.InstanceMetadata(ctx, node("a"))
	if err != nil || md.InstanceType != "c1:cfg" {
		t.Fatalf("the restarted plugin was not initialized again: got %+v, %v", md, err)
	}
}

func TestStartFailsOnABadProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a process")
	}
	_, err := StartPlugin(context.Background(), PluginConfig{Path: "/bin/true", Timeout: time.Second})
	if err == nil {
		t.Fatal("a program that is no plugin started")
	}
}

func TestServeNeedsAPart(t *testing.T) {
	if _, err := newServer("none", struct{}{}); err == nil {
		t.Fatal("a provider without parts was accepted")
	}
	c := FromImpl("x", &struct{ Routes }{})
	if !c.Capabilities.Routes || c.Capabilities.Instances || c.LoadBalancers {
		t.Fatalf("capabilities: got %+v, want routes only", c.Capabilities)
	}
}

func TestHungPluginIsRestarted(t *testing.T) {
	bin := buildEcho(t)
	ctx, cancel := context.WithCancel(context.Background())
	var restarts atomic.Int32
	p, err := StartPlugin(ctx, PluginConfig{Path: bin, Level: slog.LevelError, Timeout: 300 * time.Millisecond,
		Restarted: func() { restarts.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	c := p.Cloud()
	_, err = c.Instances.InstanceExists(ctx, node("hang"))
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "DeadlineExceeded") {
		t.Fatalf("a call the plugin never answers: got %v, want ErrUnavailable after the deadline", err)
	}
	pluginproctest.Eventually(t, "the hung plugin is restarted", func() error {
		if restarts.Load() != 1 {
			return errors.New("not restarted")
		}
		_, err := c.Instances.InstanceExists(ctx, node("a"))
		return err
	})
}
