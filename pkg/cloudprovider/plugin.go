package cloudprovider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
var ErrUnavailable = errors.New("cloud provider plugin unavailable")

// Plugin is a running provider plugin. Its Cloud forwards calls to the
// current process; Run restarts the process when it dies or hangs.
type Plugin struct {
	cfg     PluginConfig
	caps    Capabilities
	backoff *pluginproc.Backoff

	mu      sync.RWMutex
	proc    *pluginproc.Process
	conn    grpc.ClientConnInterface
	started time.Time
	down    error // why the plugin takes no calls now
	// broken is signalled when a call finds the plugin dead or hung.
	broken chan struct{}
}

// StartPlugin runs the plugin program, initializes the provider and asks
// what it implements; a plugin that cannot start is a configuration error.
func StartPlugin(ctx context.Context, cfg PluginConfig) (*Plugin, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	p := &Plugin{cfg: cfg, backoff: pluginproc.DefaultBackoff(), broken: make(chan struct{}, 1)}
	caps, err := p.launch(ctx)
	if err != nil {
		return nil, err
	}
	p.caps = caps
	return p, nil
}

// launch starts the process, initializes it and runs OnStart; only then
// does the plugin take calls.
func (p *Plugin) launch(ctx context.Context) (Capabilities, error) {
	proc, raw, err := pluginproc.Start(pluginproc.Config{Name: "cloudprovider", Path: p.cfg.Path, Args: p.cfg.Args,
		Env: p.cfg.Env, Handshake: Handshake, Plugins: pluginSet(), Dispense: Dispense, Level: p.cfg.Level})
	if err != nil {
		return Capabilities{}, err
	}
	conn := raw.(grpc.ClientConnInterface)
	r := remote{invoke: direct(conn, p.cfg.Timeout)}
	fail := func(what string, err error) (Capabilities, error) {
		proc.Kill()
		return Capabilities{}, fmt.Errorf("cloud provider plugin %s: %s: %w", p.cfg.Path, what, err)
	}
	if err := r.initialize(ctx, p.cfg.Config, p.cfg.ClusterName); err != nil {
		return fail("initialize", err)
	}
	caps, err := r.capabilities(ctx)
	if err != nil {
		return fail("capabilities", err)
	}
	if p.cfg.OnStart != nil {
		if err := p.cfg.OnStart(ctx, r.cloud(caps)); err != nil {
			return fail("after start", err)
		}
	}
	p.mu.Lock()
	p.proc, p.conn, p.started, p.down = proc, conn, time.Now(), nil
	p.mu.Unlock()
	return caps, nil
}

func pluginSet() goplugin.PluginSet {
	return goplugin.PluginSet{Dispense: &grpcPlugin{}}
}

// Cloud is the provider: calls go to the plugin's current process and
// fail with ErrUnavailable while it is down.
func (p *Plugin) Cloud() Cloud { return remote{invoke: p.call}.cloud(p.caps) }

// Pid is the plugin process's id (0 while it is down).
func (p *Plugin) Pid() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.proc == nil || p.down != nil {
		return 0
	}
	return p.proc.Pid()
}

// Run keeps the plugin alive until ctx ends: a plugin found dead (or
// killed after a hang) is started again after a back-off. It stops the
// plugin on return.
func (p *Plugin) Run(ctx context.Context) {
	defer p.Stop()
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.broken:
		case <-check.C:
			if !p.exited() {
				continue
			}
		}
		lived := p.takeDown(errors.New("plugin process exited"))
		delay := p.backoff.Next(lived)
		for {
			slog.WarnContext(ctx, "cloud provider plugin down; restarting", "plugin", p.cfg.Path, "in", delay, "reason", p.reason())
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			caps, err := p.launch(ctx)
			if err == nil {
				if caps != p.caps {
					slog.WarnContext(ctx, "restarted cloud provider plugin has other capabilities; keeping the first ones",
						"plugin", p.cfg.Path, "was", p.caps, "now", caps)
				}
				break
			}
			p.mu.Lock()
			p.down = err
			p.mu.Unlock()
			delay = p.backoff.Next(0)
		}
		slog.InfoContext(ctx, "cloud provider plugin restarted", "plugin", p.cfg.Path)
		if p.cfg.Restarted != nil {
			p.cfg.Restarted()
		}
		select { // a failure noticed before the restart is stale
		case <-p.broken:
		default:
		}
	}
}

// takeDown stops the process and says how long it lived.
func (p *Plugin) takeDown(why error) time.Duration {
	p.mu.Lock()
	lived := time.Since(p.started)
	if p.down == nil {
		p.down = why
	}
	p.mu.Unlock()
	p.kill()
	return lived
}

func (p *Plugin) reason() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.down
}

func (p *Plugin) exited() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.proc == nil || p.proc.Exited()
}

// Stop kills the plugin process.
func (p *Plugin) Stop() { p.takeDown(errors.New("plugin stopped")) }

func (p *Plugin) kill() {
	p.mu.Lock()
	proc := p.proc
	p.proc, p.conn = nil, nil
	p.mu.Unlock()
	if proc != nil {
		proc.Kill()
	}
}

// call runs one call on the current process under the per-call timeout.
// A plugin that is down fails the call at once; one found dead or hung is
// handed to Run for a restart.
func (p *Plugin) call(ctx context.Context, rpc func(context.Context, grpc.ClientConnInterface) error) error {
	p.mu.RLock()
	proc, conn, down := p.proc, p.conn, p.down
	p.mu.RUnlock()
	if down != nil || conn == nil {
		return fmt.Errorf("%w (%s): %v", ErrUnavailable, p.cfg.Path, down)
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	err := rpc(cctx, conn)
	if err == nil {
		return nil
	}
	// A hang shows as our deadline passing or the plugin's side answering
	// DeadlineExceeded; a dead plugin as an exited process or a broken
	// connection.
	hung := cctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded
	if ctx.Err() == nil && (hung || proc.Exited() || status.Code(err) == codes.Unavailable) {
		p.markBroken(proc, err, hung)
		return fmt.Errorf("%w (%s): %v", ErrUnavailable, p.cfg.Path, err)
	}
	return fromStatus(err)
}

// markBroken takes the plugin out of service until Run restarts it.
func (p *Plugin) markBroken(proc *pluginproc.Process, err error, hung bool) {
	p.mu.Lock()
	if p.proc == proc && p.down == nil {
		if hung {
			err = fmt.Errorf("hung: %w", err)
		}
		p.down = err
	}
	p.mu.Unlock()
	select {
	case p.broken <- struct{}{}:
	default:
	}
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
