package app

import (
	"context"
	"log/slog"

	"skiff.dev/services/proxy/internal/conntrack"
	"skiff.dev/services/proxy/internal/model"
)

// serviceRules is the Service rules as a sync loop's target: each sync
// programs the backend from the caches, then clears the conntrack
// entries the new rules made wrong.
type serviceRules struct {
	backend model.Backend
	state   func() model.State
	log     *slog.Logger
	// clear removes stale conntrack entries after a sync (conntrack.Clear).
	clear func([]conntrack.Flow) (uint, error)
	// synced is the state the rules last took.
	synced model.State
}

func (s *serviceRules) Sync(ctx context.Context, full bool) (model.SyncStats, error) {
	st := s.state()
	stats, err := s.backend.Sync(ctx, st, full)
	if err != nil {
		return stats, err
	}
	s.clearStale(st)
	return stats, nil
}

// clearStale removes the UDP conntrack entries the rules just made wrong;
// a failure is logged (the entries time out on their own eventually).
func (s *serviceRules) clearStale(st model.State) {
	flows := conntrack.Stale(s.synced, st)
	s.synced = st
	if len(flows) == 0 {
		return
	}
	n, err := s.clear(flows)
	if err != nil {
		s.log.Warn("clear stale conntrack entries", "flows", len(flows), "err", err)
		return
	}
	s.log.Debug("cleared stale conntrack entries", "flows", len(flows), "entries", n)
}
