package pluginproc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hashicorp/go-plugin"
)

// Config says how to start and keep one plugin program.
type Config struct {
	// Name names the plugin in the host's logs and errors.
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

	// OnStart runs after every start of the program, before it takes
	// calls: the host's start-up calls (describe, initialize, replay) go
	// here, straight to inst.Client. An error fails the start.
	OnStart func(ctx context.Context, inst *Instance) error
	// Restarted is told when a plugin that went down runs again.
	Restarted func()

	// Logger receives the supervisor's lines and the plugin's own, at
	// their level (default slog.Default()); Level is the lowest level of
	// the plugin's lines kept.
	Logger *slog.Logger
	Level  slog.Level
	// StartTimeout bounds the handshake (default 10s).
	StartTimeout time.Duration
	// Backoff paces restarts (default DefaultBackoff()).
	Backoff *Backoff
	// CheckInterval is how often the supervisor looks whether the process
	// still runs (default 250ms).
	CheckInterval time.Duration
	// HealthInterval is how often it asks the plugin's health service
	// (default 5s); a plugin that does not answer within HealthTimeout
	// (default 5s) is killed and started again.
	HealthInterval, HealthTimeout time.Duration
}

// defaults checks cfg and fills what it leaves out.
func (cfg *Config) defaults() error {
	if cfg.Path == "" {
		return errors.New("plugin without a path")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	setDefault(&cfg.StartTimeout, 10*time.Second)
	setDefault(&cfg.CheckInterval, 250*time.Millisecond)
	setDefault(&cfg.HealthInterval, 5*time.Second)
	setDefault(&cfg.HealthTimeout, 5*time.Second)
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff()
	}
	return nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}
