package iptables

import (
	"context"
	"fmt"
)

// jump is a rule in a built-in chain that sends packets to a SKIFF- chain.
type jump struct {
	table, chain string
	args         []string
}

// builtinJumps hook the SKIFF- chains into the built-in ones. The filter
// chains only reject or drop new connections to Services without endpoints.
var builtinJumps = []jump{
	{tableNat, "PREROUTING", commentJump("skiff service portals", chainServices)},
	{tableNat, "OUTPUT", commentJump("skiff service portals", chainServices)},
	{tableNat, "POSTROUTING", commentJump("skiff postrouting rules", chainPostrouting)},
	{tableFilter, "INPUT", newJump("skiff node ports without endpoints", chainNodePorts)},
	{tableFilter, "INPUT", newJump("skiff services without endpoints", chainServices)},
	{tableFilter, "INPUT", newJump("skiff external services without endpoints", chainExternalServices)},
	{tableFilter, "FORWARD", newJump("skiff services without endpoints", chainServices)},
	{tableFilter, "FORWARD", newJump("skiff external services without endpoints", chainExternalServices)},
	{tableFilter, "OUTPUT", newJump("skiff services without endpoints", chainServices)},
	{tableFilter, "OUTPUT", newJump("skiff external services without endpoints", chainExternalServices)},
}

func commentJump(text, target string) []string {
	return []string{"-m", "comment", "--comment", text, "-j", target}
}

func newJump(text, target string) []string {
	return append([]string{"-m", "conntrack", "--ctstate", "NEW"}, commentJump(text, target)...)
}

// ensureJumps inserts at the top of their chains the jumps of table that
// are missing, and returns how many it inserted. The SKIFF- chains they
// target must exist. Jumps into one chain are inserted last first, so they
// end up in list order.
func (b *Backend) ensureJumps(ctx context.Context, table string) (int, error) {
	inserted := 0
	for i := len(builtinJumps) - 1; i >= 0; i-- {
		j := builtinJumps[i]
		if j.table != table {
			continue
		}
		err := b.iptables(ctx, table, append([]string{"-C", j.chain}, j.args...)...)
		if err == nil {
			continue
		}
		if exitCode(err) != 1 { // 1 is "no such rule"; others are failures
			return inserted, fmt.Errorf("check jump from %s %s: %w", table, j.chain, err)
		}
		if err := b.iptables(ctx, table, append([]string{"-I", j.chain, "1"}, j.args...)...); err != nil {
			return inserted, fmt.Errorf("insert jump from %s %s: %w", table, j.chain, err)
		}
		inserted++
	}
	return inserted, nil
}
