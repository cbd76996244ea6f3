package netpol

import (
	"context"
	"fmt"

	"sigs.k8s.io/knftables"

	"skiff.dev/services/proxy/internal/model"
	"skiff.dev/services/proxy/internal/nftables"
)

// Backend writes the policy table through the nft binary, one atomic
// transaction per sync. It is used from one goroutine.
type Backend struct {
	node string
	nft  knftables.Interface
	// last is what the last successful sync wrote; nil makes the next sync
	// a full one (at start and after a failure, when the kernel may differ).
	last *nftables.Ruleset
}

// NewBackend checks that nft works and returns a backend for node.
func NewBackend(node string) (*Backend, error) {
	nft, err := knftables.New(Family, Table)
	if err != nil {
		return nil, fmt.Errorf("network policy enforcement needs the nft binary and nf_tables in the kernel; install nftables or start with --network-policy=false to run without enforcement: %w", err)
	}
	return &Backend{node: node, nft: nft}, nil
}

// Sync makes the table enforce st. With full set it rewrites the whole
// table and removes leftovers; otherwise it writes what changed since the
// last successful sync. Either way conntrack keeps established connections.
func (b *Backend) Sync(ctx context.Context, st State, full bool) (model.SyncStats, error) {
	r := Render(b.node, st)
	tx := b.nft.NewTransaction()
	if full || b.last == nil {
		existing, err := b.nft.ListAll(ctx)
		if err != nil && !knftables.IsNotFound(err) {
			return model.SyncStats{}, fmt.Errorf("network policy: list table %s: %w", Table, err)
		}
		r.Full(tx, existing)
	} else {
		r.Diff(tx, b.last)
	}
	written := tx.NumOperations()
	if written > 0 {
		if err := b.nft.Run(ctx, tx); err != nil {
			b.last = nil
			return model.SyncStats{}, fmt.Errorf("network policy: sync table %s: %w", Table, err)
		}
	}
	b.last = r
	return model.SyncStats{Rules: r.Rules(), Written: written}, nil
}

// Cleanup deletes the table and everything in it.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.last = nil
	tx := b.nft.NewTransaction()
	tx.Delete(&knftables.Table{})
	if err := b.nft.Run(ctx, tx); err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("network policy: delete table %s: %w", Table, err)
	}
	return nil
}
