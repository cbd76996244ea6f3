package pluginproc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrUnavailable is wrapped by the errors of calls made while the plugin
// is down or restarting, and of calls that found it dead or hung.
var ErrUnavailable = errors.New("plugin unavailable")

// errStopped is why a stopped plugin takes no calls.
var errStopped = errors.New("plugin stopped")

// Instance is one run of the plugin program.
type Instance struct {
	// Client is what the plugin's GRPCClient returned when dispensed.
	Client any

	proc    *process
	started time.Time
}

// Pid is the process id of this run.
func (i *Instance) Pid() int { return i.proc.pid() }

// Supervisor keeps one plugin program running: Start starts it, Call
// runs the host's calls on the current run, Run restarts it when it goes
// down, Status says how it is.
type Supervisor struct {
	cfg Config
	// down is signalled when the current run was taken out of service.
	down chan struct{}

	mu      sync.RWMutex
	inst    *Instance // the run taking calls; nil while down
	dead    *Instance // a run taken out of service, for Run to kill
	stopped bool
	status  Status
}

// Start runs the plugin program and its OnStart; a plugin that cannot
// start is a configuration error. Run keeps it running from then on.
func Start(ctx context.Context, cfg Config) (*Supervisor, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Supervisor{cfg: cfg, down: make(chan struct{}, 1)}
	s.status = Status{Name: cfg.Name, State: StateStarting, Since: time.Now()}
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// launch starts a run and, once OnStart succeeded, puts it in service.
func (s *Supervisor) launch(ctx context.Context) error {
	proc, client, err := start(&s.cfg)
	if err != nil {
		return err
	}
	inst := &Instance{Client: client, proc: proc, started: time.Now()}
	if s.cfg.OnStart != nil {
		if err := s.cfg.OnStart(ctx, inst); err != nil {
			proc.kill()
			return fmt.Errorf("plugin %s (%s): after start: %w", s.cfg.Name, s.cfg.Path, err)
		}
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		proc.kill()
		return errStopped
	}
	s.inst = inst
	if s.status.State == StateRestarting {
		s.status.Restarts++
	}
	s.setState(StateRunning, nil)
	s.mu.Unlock()
	return nil
}

// Run keeps the plugin running until ctx ends: a run that exited, failed
// its health check or was found dead or hung by a call is killed and the
// program started again after a back-off. It stops the plugin on return.
func (s *Supervisor) Run(ctx context.Context) {
	defer s.Stop()
	tick := time.NewTicker(s.cfg.CheckInterval)
	defer tick.Stop()
	pinged := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.down:
			if !s.restart(ctx) {
				return
			}
			pinged = time.Now()
		case <-tick.C:
			inst, _ := s.Instance()
			if inst == nil {
				continue
			}
			if inst.proc.exited() {
				s.fail(inst, errors.New("plugin process exited"))
			} else if time.Since(pinged) >= s.cfg.HealthInterval {
				if err := inst.proc.ping(ctx, s.cfg.HealthTimeout); err != nil && ctx.Err() == nil {
					s.fail(inst, err)
				}
				pinged = time.Now()
			}
		}
	}
}

// restart kills the run taken out of service and starts the program
// again, with back-off while starts fail. It is false when ctx ended
// first.
func (s *Supervisor) restart(ctx context.Context) bool {
	s.mu.Lock()
	dead, reason := s.dead, s.status.LastError
	s.dead = nil
	s.mu.Unlock()
	if dead == nil {
		return true
	}
	dead.proc.kill()
	delay := s.cfg.Backoff.Next(time.Since(dead.started))
	for {
		s.cfg.Logger.WarnContext(ctx, "plugin down; restarting", "plugin", s.cfg.Name, "path", s.cfg.Path, "in", delay, "reason", reason)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		err := s.launch(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil || errors.Is(err, errStopped) {
			return false
		}
		s.mu.Lock()
		s.setState(StateRestarting, err)
		s.mu.Unlock()
		reason, delay = err.Error(), s.cfg.Backoff.Next(0)
	}
	s.cfg.Logger.InfoContext(ctx, "plugin restarted", "plugin", s.cfg.Name, "pid", s.Pid())
	if s.cfg.Restarted != nil {
		s.cfg.Restarted()
	}
	return true
}

// fail takes inst out of service because of err and hands it to Run;
// a failure of a run already replaced is stale and ignored.
func (s *Supervisor) fail(inst *Instance, err error) {
	s.mu.Lock()
	if inst == nil || s.inst != inst {
		s.mu.Unlock()
		return
	}
	s.inst, s.dead = nil, inst
	s.setState(StateRestarting, err)
	s.mu.Unlock()
	select {
	case s.down <- struct{}{}:
	default:
	}
}

// Stop kills the plugin; it takes no calls and Run starts it no more.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	inst, dead := s.inst, s.dead
	s.inst, s.dead, s.stopped = nil, nil, true
	if s.status.State != StateStopped {
		s.setState(StateStopped, nil)
	}
	s.mu.Unlock()
	for _, i := range []*Instance{inst, dead} {
		if i != nil {
			i.proc.kill()
		}
	}
}

// Instance is the run taking calls, or an error wrapping ErrUnavailable
// that says why there is none.
func (s *Supervisor) Instance() (*Instance, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.inst != nil {
		return s.inst, nil
	}
	why := s.status.LastError
	if s.stopped {
		why = errStopped.Error()
	}
	return nil, fmt.Errorf("%w: %s (%s): %s", ErrUnavailable, s.cfg.Name, s.cfg.Path, why)
}

// Pid is the process id of the run taking calls (0 while down).
func (s *Supervisor) Pid() int {
	inst, err := s.Instance()
	if err != nil {
		return 0
	}
	return inst.Pid()
}

// Call runs fn on the current run, under timeout when it is positive. A
// plugin that is down fails the call at once. A call that outlives its
// timeout (or that the plugin answers DeadlineExceeded) counts as a hang,
// and one that finds the process exited or the connection Unavailable as
// a death: either takes the run out of service for Run to restart, and
// the error wraps ErrUnavailable and fn's error. Other errors are fn's,
// as they are: what they mean is the host's business.
func (s *Supervisor) Call(ctx context.Context, timeout time.Duration, fn func(ctx context.Context, inst *Instance) error) error {
	inst, err := s.Instance()
	if err != nil {
		return err
	}
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		cctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	err = fn(cctx, inst)
	if err == nil || ctx.Err() != nil {
		return err
	}
	switch {
	case cctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded:
		err = fmt.Errorf("hung: %w", err)
	case inst.proc.exited() || status.Code(err) == codes.Unavailable:
	default:
		return err
	}
	s.fail(inst, err)
	return fmt.Errorf("%w: %s (%s): %w", ErrUnavailable, s.cfg.Name, s.cfg.Path, err)
}
