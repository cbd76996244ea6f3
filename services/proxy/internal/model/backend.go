package model

import "context"

// Backend programs the kernel's packet rules for one node. A backend is
// built with the node's Options and used from one goroutine.
type Backend interface {
	// Sync makes the kernel's rules match st. With full set it rewrites
	// everything it owns (at start, periodically, and after a failed sync)
	// and removes leftovers; otherwise it writes only what changed since the
	// last successful Sync, in one atomic transaction. Established
	// connections keep flowing either way (their NAT lives in conntrack).
	Sync(ctx context.Context, st State, full bool) (SyncStats, error)
	// Cleanup removes every chain, rule, set and map the backend created.
	Cleanup(ctx context.Context) error
}

// SyncStats describes one sync.
type SyncStats struct {
	// Rules is how many rules the backend's tables hold after the sync.
	Rules int
	// Written is how many objects (chains, rules, elements) the sync wrote
	// or deleted; an incremental sync of one change writes few.
	Written int
}
