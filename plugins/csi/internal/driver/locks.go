package driver

import (
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// volumeLocks lets one call at a time work on a volume. A second call for
// a volume in work is ABORTED, as the CSI spec has it for a CO that lost
// track of its calls; the caller retries. Without it two publishes of one
// target would stack two bind mounts there.
type volumeLocks struct {
	mu   sync.Mutex
	busy map[string]bool
}

// acquire takes id's lock, or fails with ABORTED while another call has
// it; release gives it back.
func (l *volumeLocks) acquire(id string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[id] {
		return nil, status.Errorf(codes.Aborted, "an operation on volume %s is in progress", id)
	}
	if l.busy == nil {
		l.busy = map[string]bool{}
	}
	l.busy[id] = true
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.busy, id)
	}, nil
}
