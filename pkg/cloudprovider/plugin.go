package cloudprovider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/pkg/pluginproc"
)

// PluginConfig says how to run a provider plugin.
type PluginConfig struct {
	// Path is the plugin program; Args and Env are passed to it.
	Path string
	Args []string
	Env  []string
	// Config is handed to the provider's Initialize after every start
	// (the contents of --cloud-config), with ClusterName.
	Config      []byte
	ClusterName string
	// Timeout bounds each call (default 1m); a call that takes longer
	// counts as a hang: the plugin is killed and started again.
	Timeout time.Duration
	// Level is the lowest level of the plugin's log lines kept.
	Level slog.Level
	// OnStart runs after every start of the plugin, before it takes
	// other calls, with the fresh provider; an error fails the start. The
	// cloud-controller replays what the provider must remember here.
	OnStart func(ctx context.Context, c Cloud) error
	// Restarted is told when a dead plugin was started again.
	Restarted func()
}

// ErrUnavailable is wrapped by the errors of calls made while the plugin
// is down or restarting.
var ErrUnavailable = pluginproc.ErrUnavailable

// Plugin is a running provider plugin. Its Cloud forwards calls to the
// current process; Run restarts the process when it dies or hangs.
type Plugin struct {
	cfg  PluginConfig
	caps Capabilities
	sup  *pluginproc.Supervisor
}

// StartPlugin runs the plugin program, initializes the provider and asks
// what it implements; a plugin that cannot start is a configuration error.
func StartPlugin(ctx context.Context, cfg PluginConfig) (*Plugin, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	p := &Plugin{cfg: cfg}
	sup, err := pluginproc.Start(ctx, pluginproc.Config{Name: "cloudprovider", Path: cfg.Path, Args: cfg.Args, Env: cfg.Env,
		Handshake: Handshake, Plugins: goplugin.PluginSet{Dispense: &grpcPlugin{}}, Dispense: Dispense,
		Level: cfg.Level, OnStart: p.onStart, Restarted: cfg.Restarted})
	if err != nil {
		return nil, err
	}
	p.sup = sup
	return p, nil
}

// onStart initializes a fresh process, asks what it implements and runs
// the configured OnStart; only then does the plugin take calls.
func (p *Plugin) onStart(ctx context.Context, inst *pluginproc.Instance) error {
	r := remote{invoke: direct(inst.Client.(grpc.ClientConnInterface), p.cfg.Timeout)}
	if err := r.initialize(ctx, p.cfg.Config, p.cfg.ClusterName); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	caps, err := r.capabilities(ctx)
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	if p.sup == nil { // the first start
		p.caps = caps
	} else if caps != p.caps {
		slog.WarnContext(ctx, "restarted cloud provider plugin has other capabilities; keeping the first ones",
			"plugin", p.cfg.Path, "was", p.caps, "now", caps)
	}
	if p.cfg.OnStart != nil {
		return p.cfg.OnStart(ctx, r.cloud(caps))
	}
	return nil
}

// Cloud is the provider: calls go to the plugin's current process and
// fail with ErrUnavailable while it is down.
func (p *Plugin) Cloud() Cloud { return remote{invoke: p.call}.cloud(p.caps) }

// Pid is the plugin process's id (0 while it is down).
func (p *Plugin) Pid() int { return p.sup.Pid() }

// Status is the plugin's supervision state, for readiness.
func (p *Plugin) Status() pluginproc.Status { return p.sup.Status() }

// Run keeps the plugin alive until ctx ends: a plugin found dead (or
// killed after a hang) is started again after a back-off. It stops the
// plugin on return.
func (p *Plugin) Run(ctx context.Context) { p.sup.Run(ctx) }

// Stop kills the plugin process.
func (p *Plugin) Stop() { p.sup.Stop() }

// call runs one call on the current process under the per-call timeout.
// A plugin that is down fails the call at once; one found dead or hung is
// handed to Run for a restart.
func (p *Plugin) call(ctx context.Context, rpc func(context.Context, grpc.ClientConnInterface) error) error {
	err := p.sup.Call(ctx, p.cfg.Timeout, func(ctx context.Context, inst *pluginproc.Instance) error {
		return rpc(ctx, inst.Client.(grpc.ClientConnInterface))
	})
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fromStatus(err)
}

// fromStatus turns a provider's error back into a plain error with its
// message; context codes become the context errors.
func fromStatus(err error) error {
	s, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	switch s.Code() {
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	return errors.New(s.Message())
}
