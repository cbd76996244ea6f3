package pluginproc

import (
	"fmt"
	"time"
)

// State is where a supervised plugin is in its life.
type State string

// The states of a supervised plugin.
const (
	// StateStarting: the first start has not finished.
	StateStarting State = "Starting"
	// StateRunning: the plugin takes calls.
	StateRunning State = "Running"
	// StateRestarting: the plugin went down and is being started again.
	StateRestarting State = "Restarting"
	// StateStopped: the host stopped the plugin.
	StateStopped State = "Stopped"
)

// Status is what a supervisor tells about its plugin, for readiness
// checks and status pages.
type Status struct {
	// Name is the plugin's configured name.
	Name string
	// State is where the plugin is, since Since.
	State State
	Since time.Time
	// Pid is the running process's id (0 unless Running).
	Pid int
	// Restarts counts the times the plugin ran again after going down.
	Restarts int
	// LastError says why the plugin last went down or last failed to
	// start again, at LastErrorTime; empty if it never did.
	LastError     string
	LastErrorTime time.Time
}

// Ready is nil while the plugin takes calls, and otherwise says why not.
func (st Status) Ready() error {
	if st.State == StateRunning {
		return nil
	}
	if st.LastError != "" {
		return fmt.Errorf("plugin %s is %s since %s: %s", st.Name, st.State, st.Since.Format(time.RFC3339), st.LastError)
	}
	return fmt.Errorf("plugin %s is %s since %s", st.Name, st.State, st.Since.Format(time.RFC3339))
}

// Status is the plugin's current status.
func (s *Supervisor) Status() Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.status
	if s.inst != nil {
		st.Pid = s.inst.Pid()
	}
	return st
}

// setState records a change of state, and err as the last error when it
// is not nil. Called with s.mu held.
func (s *Supervisor) setState(state State, err error) {
	now := time.Now()
	if state != s.status.State {
		s.status.State, s.status.Since = state, now
	}
	if err != nil {
		s.status.LastError, s.status.LastErrorTime = err.Error(), now
	}
}
