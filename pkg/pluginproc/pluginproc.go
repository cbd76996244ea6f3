// Package pluginproc runs out-of-process plugins over hashicorp/go-plugin
// (gRPC): the host starts a plugin program with its socket in a private
// directory, tells whether it is still alive, and kills it; Backoff paces
// restarts of a plugin that keeps dying; Logger is the plugin side's
// logger, whose lines the host logs at their own level.
package pluginproc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// Config says how to start one plugin program.
type Config struct {
	// Name names the plugin in the host's logs.
	Name string
	// Path is the program; Args and Env are passed to it (Env on top of
	// the host's environment).
	Path string
	Args []string
	Env  []string
	// Handshake and Plugins are what host and plugin agree on.
	Handshake plugin.HandshakeConfig
	Plugins   plugin.PluginSet
	// Dispense is the name in Plugins the host asks for.
	Dispense string
	// Level is the lowest level of the plugin's log lines the host keeps.
	Level slog.Level
	// StartTimeout bounds the start (default 10s).
	StartTimeout time.Duration
}

// Process is a running plugin program.
type Process struct {
	client *plugin.Client
	cmd    *exec.Cmd
	dir    string
	name   string
}

// Start runs the program, waits for its handshake and dispenses
// cfg.Dispense: the value is what the plugin's GRPCClient returned.
func Start(cfg Config) (*Process, any, error) {
	if cfg.Path == "" {
		return nil, nil, errors.New("plugin without a path")
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	// The socket lives in a private directory removed with the plugin,
	// also when the plugin was killed and could not clean up.
	dir, err := os.MkdirTemp("", "skiff-plugin-")
	if err != nil {
		return nil, nil, err
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
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin." + cfg.Name, Output: os.Stderr, Level: HCLogLevel(cfg.Level)}),
		AutoMTLS:         true,
		StartTimeout:     cfg.StartTimeout,
	})
	p := &Process{client: client, cmd: cmd, dir: dir, name: cfg.Name}
	proto, err := client.Client()
	if err != nil {
		p.Kill()
		return nil, nil, fmt.Errorf("start plugin %s (%s): %w", cfg.Name, cfg.Path, err)
	}
	raw, err := proto.Dispense(cfg.Dispense)
	if err != nil {
		p.Kill()
		return nil, nil, fmt.Errorf("plugin %s (%s): dispense %s: %w", cfg.Name, cfg.Path, cfg.Dispense, err)
	}
	return p, raw, nil
}

// Exited reports whether the program has ended.
func (p *Process) Exited() bool { return p.client.Exited() }

// Pid is the program's process id (0 before it started).
func (p *Process) Pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// killWait bounds how long go-plugin may take to clean up after a plugin
// was killed.
const killWait = 2 * time.Second

// Kill ends the program with SIGKILL (plugins hold no state worth a
// graceful exit, and a hung one may not take part in one), lets go-plugin
// clean up its side and removes the socket directory.
func (p *Process) Kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	done := make(chan struct{})
	go func() { p.client.Kill(); close(done) }()
	select {
	case <-done:
	case <-time.After(killWait):
		slog.Warn("plugin clean-up is slow; going on", "plugin", p.name)
	}
	_ = os.RemoveAll(p.dir)
}

// HCLogLevel is the hclog level of a slog level.
func HCLogLevel(l slog.Level) hclog.Level {
	switch {
	case l <= slog.LevelDebug:
		return hclog.Debug
	case l <= slog.LevelInfo:
		return hclog.Info
	case l <= slog.LevelWarn:
		return hclog.Warn
	default:
		return hclog.Error
	}
}
