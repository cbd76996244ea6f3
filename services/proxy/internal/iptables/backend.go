package iptables

import (
	"context"
	"fmt"
	"os/exec"

	"skiff.dev/services/proxy/internal/model"
)

var _ model.Backend = (*Backend)(nil)

// Backend programs the proxy's rules with iptables. It remembers the chains
// of the last successful sync of each table, so an incremental sync writes
// only the chains whose rules changed. Use it from one goroutine.
type Backend struct {
	opts    model.Options
	command CommandFunc
	wait    []string // nil until asked whether iptables-restore takes -w

	// last is what each table held after its last successful restore.
	last map[string]*table
	// needFull makes the next sync a full one: at start, after a failed
	// sync and after Cleanup, when the kernel may not hold last.
	needFull bool
}

// Option changes how a Backend is built.
type Option func(*Backend)

// WithCommand runs the iptables tools through f instead of
// exec.CommandContext, for example inside a network namespace.
func WithCommand(f CommandFunc) Option {
	return func(b *Backend) { b.command = f }
}

// New returns a backend for a node with opts. It runs nothing until the
// first Sync, which is always a full one.
func New(opts model.Options, options ...Option) (*Backend, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("iptables backend: %w", err)
	}
	b := &Backend{opts: opts, command: exec.CommandContext, last: map[string]*table{}, needFull: true}
	for _, o := range options {
		o(b)
	}
	return b, nil
}

// Sync makes the SKIFF- chains match st: one iptables-restore for the nat
// table, then one for the filter table. A full sync rewrites every chain,
// deletes SKIFF- chains the kernel holds but st does not need, and ensures
// the jumps from the built-in chains; an incremental one writes the chains
// that changed since the last successful sync and deletes those no longer
// needed. The first sync, and the one after a failure, is always full.
// Stats count the rules in the SKIFF- chains plus the built-in jumps, and
// the restore lines (chain, rule and delete lines) and jumps written.
func (b *Backend) Sync(ctx context.Context, st model.State, full bool) (model.SyncStats, error) {
	want, err := render(b.opts, st)
	if err != nil {
		return model.SyncStats{}, fmt.Errorf("render iptables rules: %w", err)
	}
	full = full || b.needFull
	b.needFull = true // until every table is done
	stats := model.SyncStats{Rules: want.count()}
	for _, t := range want.tables() {
		n, err := b.syncTable(ctx, t, full)
		stats.Written += n
		if err != nil {
			if ctx.Err() != nil {
				return stats, ctx.Err()
			}
			return stats, err
		}
	}
	b.needFull = false
	return stats, nil
}

// syncTable writes one table and returns how many lines and jumps it wrote.
func (b *Backend) syncTable(ctx context.Context, t *table, full bool) (int, error) {
	var write, remove []string
	if full || b.last[t.name] == nil {
		saved, err := b.save(ctx, t.name)
		if err != nil {
			return 0, fmt.Errorf("read %s table: %w", t.name, err)
		}
		write, remove = t.chains, t.unwanted(savedChains(saved))
	} else {
		old := b.last[t.name]
		write, remove = t.changedSince(old), t.unwanted(old.chains)
	}
	written := 0
	if len(write)+len(remove) > 0 {
		input, n := restoreInput(t, write, remove)
		if err := b.restore(ctx, input); err != nil {
			return 0, fmt.Errorf("restore %s table: %w", t.name, err)
		}
		written = n
	}
	b.last[t.name] = t
	if full {
		n, err := b.ensureJumps(ctx, t.name)
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// Cleanup removes the jumps from the built-in chains and every SKIFF- chain
// of the nat and filter tables, whoever made them. The next Sync is full.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.last = map[string]*table{}
	b.needFull = true
	for _, name := range []string{tableNat, tableFilter} {
		if err := b.cleanupTable(ctx, name); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("clean up %s table: %w", name, err)
		}
	}
	return nil
}

func (b *Backend) cleanupTable(ctx context.Context, name string) error {
	saved, err := b.save(ctx, name)
	if err != nil {
		return err
	}
	if input, n := cleanupInput(name, saved); n > 0 {
		return b.restore(ctx, input)
	}
	return nil
}
