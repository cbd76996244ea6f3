// Package pluginproc runs out-of-process plugins over hashicorp/go-plugin
// (gRPC). A Supervisor keeps one plugin program alive for its host: it
// starts the program with its socket in a private directory, waits for the
// handshake, runs the host's start-up calls, checks that the process lives
// and answers go-plugin's health service, kills a plugin that died, hung or
// failed its health check and starts it again after a back-off, forwards
// the plugin's log lines to the host's slog logger, kills the plugin when
// the host stops, and reports its state for readiness. What a plugin
// serves and what a failed call means stay with the host's package.
//
// Logger is the plugin side's logger, whose lines the host logs at their
// own level.
package pluginproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// process is one running plugin program.
type process struct {
	client *plugin.Client
	conn   *grpc.ClientConn // for health checks
	cmd    *exec.Cmd
	dir    string
	name   string
	log    *slog.Logger
}

// start runs the program, waits for its handshake and dispenses
// cfg.Dispense: the value is what the plugin's GRPCClient returned.
func start(cfg *Config) (*process, any, error) {
	// The socket lives in a private directory removed with the plugin,
	// also when the plugin was killed and could not clean up.
	dir, err := os.MkdirTemp("", "skiff-plugin-")
	if err != nil {
		return nil, nil, fmt.Errorf("plugin %s: make its socket directory: %w", cfg.Name, err)
	}
	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = append(append(os.Environ(), cfg.Env...), plugin.EnvUnixSocketDir+"="+dir)
	// The plugin dies with its host, even when the host is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  cfg.Handshake,
		Plugins:          cfg.Plugins,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogger(cfg.Logger, "plugin."+cfg.Name, cfg.Level),
		SyncStdout:       &lineWriter{log: cfg.Logger.With("plugin", "plugin."+cfg.Name), stream: "stdout"},
		SyncStderr:       &lineWriter{log: cfg.Logger.With("plugin", "plugin."+cfg.Name), stream: "stderr"},
		AutoMTLS:         true,
		StartTimeout:     cfg.StartTimeout,
	})
	p := &process{client: client, cmd: cmd, dir: dir, name: cfg.Name, log: cfg.Logger}
	proto, err := client.Client()
	if err != nil {
		p.kill()
		return nil, nil, fmt.Errorf("start plugin %s (%s): %w", cfg.Name, cfg.Path, err)
	}
	if g, ok := proto.(*plugin.GRPCClient); ok {
		p.conn = g.Conn
	}
	raw, err := proto.Dispense(cfg.Dispense)
	if err != nil {
		p.kill()
		return nil, nil, fmt.Errorf("plugin %s (%s): dispense %s: %w", cfg.Name, cfg.Path, cfg.Dispense, err)
	}
	return p, raw, nil
}

// exited reports whether the program has ended.
func (p *process) exited() bool { return p.client.Exited() }

// pid is the program's process id (0 before it started).
func (p *process) pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// ping asks go-plugin's health service in the plugin whether it serves,
// within timeout.
func (p *process) ping(ctx context.Context, timeout time.Duration) error {
	if p.conn == nil {
		return errors.New("no gRPC connection to check")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(p.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health check: plugin is %s", resp.GetStatus())
	}
	return nil
}

// killWait bounds how long go-plugin may take to clean up after a plugin
// was killed.
const killWait = 2 * time.Second

// kill ends the program with SIGKILL (plugins hold no state worth a
// graceful exit, and a hung one may not take part in one), lets go-plugin
// clean up its side and removes the socket directory.
func (p *process) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	done := make(chan struct{})
	go func() { p.client.Kill(); close(done) }()
	select {
	case <-done:
	case <-time.After(killWait):
		p.log.Warn("plugin clean-up is slow; going on", "plugin", p.name)
	}
	_ = os.RemoveAll(p.dir)
}
