package nftables

import (
	"context"
	"fmt"

	"sigs.k8s.io/knftables"

	"skiff.dev/services/proxy/internal/model"
)

// Backend programs the proxy's table through the nft binary, one atomic
// transaction per sync.
type Backend struct {
	opts model.Options
	nft  knftables.Interface
	// last is what the last successful sync wrote; nil makes the next sync
	// a full one (at start and after a failure, when the kernel may differ).
	last *Ruleset
}

var _ model.Backend = (*Backend)(nil)

// New checks that nft works and returns a backend for the node.
func New(opts model.Options) (*Backend, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	nft, err := knftables.New(Family, Table)
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return &Backend{opts: opts, nft: nft}, nil
}

// Sync implements model.Backend.
func (b *Backend) Sync(ctx context.Context, st model.State, full bool) (model.SyncStats, error) {
	r, err := Render(b.opts, st)
	if err != nil {
		return model.SyncStats{}, err
	}
	tx := b.nft.NewTransaction()
	if full || b.last == nil {
		existing, err := b.nft.ListAll(ctx)
		if err != nil && !knftables.IsNotFound(err) {
			return model.SyncStats{}, fmt.Errorf("nftables: list table %s: %w", Table, err)
		}
		r.Full(tx, existing)
	} else {
		r.Diff(tx, b.last)
	}
	written := tx.NumOperations()
	if written > 0 {
		if err := b.nft.Run(ctx, tx); err != nil {
			b.last = nil
			return model.SyncStats{}, fmt.Errorf("nftables: sync: %w", err)
		}
	}
	b.last = r
	return model.SyncStats{Rules: r.Rules(), Written: written}, nil
}

// Cleanup implements model.Backend: it deletes the table and all in it.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.last = nil
	tx := b.nft.NewTransaction()
	tx.Delete(&knftables.Table{})
	if err := b.nft.Run(ctx, tx); err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("nftables: delete table %s: %w", Table, err)
	}
	return nil
}
