//go:build linux

package iptables

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"skiff.dev/services/proxy/internal/model"
)

// kernelChains reads a table from the namespace: each SKIFF- chain with its
// rule count, and the rules of built-in chains that jump to SKIFF- chains.
func kernelChains(tb testing.TB, ns *netns, table string) (chains map[string]int, jumps []string) {
	tb.Helper()
	saved := ns.run(tb, "", "iptables-save", "-t", table)
	chains = map[string]int{}
	for _, c := range savedChains(saved) {
		chains[c] = 0
	}
	for line := range strings.Lines(saved) {
		rule, ok := strings.CutPrefix(strings.TrimSpace(line), "-A ")
		if !ok {
			continue
		}
		chain, _, _ := strings.Cut(rule, " ")
		if strings.HasPrefix(chain, chainPrefix) {
			chains[chain]++
		} else if strings.Contains(rule, "-j "+chainPrefix) {
			jumps = append(jumps, rule)
		}
	}
	return chains, jumps
}

// checkKernel compares the namespace's SKIFF- chains with those rendered
// for st: the same chains with as many rules each, and each built-in jump once.
func checkKernel(t *testing.T, ns *netns, st model.State) {
	t.Helper()
	want, err := render(testOptions, st)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	for _, tb := range want.tables() {
		got, jumps := kernelChains(t, ns, tb.name)
		wantCounts := map[string]int{}
		for c, rs := range tb.rules {
			wantCounts[c] = len(rs)
		}
		if !maps.Equal(got, wantCounts) {
			t.Errorf("%s table: got chains with rule counts %v, want %v", tb.name, got, wantCounts)
		}
		wantJumps := 0
		for _, j := range builtinJumps {
			if j.table == tb.name {
				wantJumps++
			}
		}
		if len(jumps) != wantJumps {
			t.Errorf("%s table: got %d jumps from built-in chains, want %d:\n%s", tb.name, len(jumps), wantJumps, strings.Join(jumps, "\n"))
		}
	}
}

// addLeftovers puts chains of an older proxy into the namespace, one nat
// chain referencing another, and a foreign chain that must survive.
func addLeftovers(t *testing.T, ns *netns) {
	ns.run(t, `*nat
:SKIFF-SVC-LEFTOVER - [0:0]
:SKIFF-SEP-LEFTOVER - [0:0]
:OTHER-CHAIN - [0:0]
-A SKIFF-SVC-LEFTOVER -j SKIFF-SEP-LEFTOVER
-A SKIFF-SEP-LEFTOVER -p tcp -j DNAT --to-destination 10.244.3.3:80
-A OTHER-CHAIN -j RETURN
COMMIT
*filter
:SKIFF-LEFTOVER - [0:0]
-A SKIFF-LEFTOVER -j DROP
COMMIT
`, "iptables-restore", "--noflush")
}

// TestRealIptablesAcceptsFixtures loads every fixture in turn into one
// namespace, first with incremental syncs and then with full ones, and
// checks after each that the kernel holds exactly the rendered chains.
func TestRealIptablesAcceptsFixtures(t *testing.T) {
	ns := newNetns(t)
	ctx := context.Background()
	b := ns.backend(t)
	addLeftovers(t, ns)
	names := slices.Sorted(maps.Keys(fixtures))
	for _, full := range []bool{false, true} {
		mode := map[bool]string{false: "incremental", true: "full"}[full]
		for _, name := range names {
			t.Run(mode+"/"+name, func(t *testing.T) {
				stats, err := b.Sync(ctx, fixtures[name], full)
				if err != nil {
					t.Fatalf("Sync: %v", err)
				}
				checkKernel(t, ns, fixtures[name])
				want, _ := render(testOptions, fixtures[name])
				if stats.Rules != want.count() || stats.Written == 0 {
					t.Errorf("got %+v, want Rules %d and Written > 0", stats, want.count())
				}
				again, err := b.Sync(ctx, fixtures[name], false)
				if err != nil {
					t.Fatalf("Sync again: %v", err)
				}
				if again.Written != 0 {
					t.Errorf("incremental sync of an unchanged state: got Written %d, want 0", again.Written)
				}
			})
		}
		// Leftovers that appear later go at the next full sync.
		addLeftovers(t, ns)
	}
	if _, err := b.Sync(ctx, fixtures[names[0]], true); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	checkKernel(t, ns, fixtures[names[0]])

	if err := b.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	saved := ns.run(t, "", "iptables-save")
	if strings.Contains(saved, "SKIFF") {
		t.Errorf("got SKIFF in iptables-save after Cleanup:\n%s", saved)
	}
	if !strings.Contains(saved, ":OTHER-CHAIN") {
		t.Errorf("got no OTHER-CHAIN after Cleanup, want foreign chains kept:\n%s", saved)
	}
	if err := b.Cleanup(ctx); err != nil {
		t.Errorf("Cleanup with nothing left: %v", err)
	}
}

// TestSyncAfterCleanupIsFull checks that the sync after Cleanup recreates
// everything even when asked for an incremental one.
func TestSyncAfterCleanupIsFull(t *testing.T) {
	ns := newNetns(t)
	ctx := context.Background()
	b := ns.backend(t)
	st := fixtures["nodeport local"]
	if _, err := b.Sync(ctx, st, true); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if err := b.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if _, err := b.Sync(ctx, st, false); err != nil {
		t.Fatalf("Sync after Cleanup: %v", err)
	}
	checkKernel(t, ns, st)
}

// TestSyncFailureForcesFull makes a restore fail (a foreign rule still
// jumps to a chain the sync deletes) and checks that the next sync, though
// asked to be incremental, is a full one that repairs everything.
func TestSyncFailureForcesFull(t *testing.T) {
	ns := newNetns(t)
	ctx := context.Background()
	b := ns.backend(t)
	if _, err := b.Sync(ctx, fixtures["two endpoints"], true); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	ns.run(t, "*nat\n:OTHER-CHAIN - [0:0]\n-A OTHER-CHAIN -j "+ep2Chain+"\nCOMMIT\n", "iptables-restore", "--noflush")
	st := fixtures["terminating fallback"]
	if _, err := b.Sync(ctx, st, false); err == nil {
		t.Fatalf("Sync deleting a referenced chain: got no error, want one")
	}
	ns.run(t, "", "iptables", "-t", "nat", "-F", "OTHER-CHAIN")
	stats, err := b.Sync(ctx, st, false)
	if err != nil {
		t.Fatalf("Sync after a failure: %v", err)
	}
	want := mustRender(t, st)
	if all := len(want.nat.chains) + len(want.filter.chains); stats.Written < all {
		t.Errorf("sync after a failure: got Written %d, want a full sync writing at least the %d chains", stats.Written, all)
	}
	checkKernel(t, ns, st)
}

func mustRender(t *testing.T, st model.State) *ruleset {
	t.Helper()
	r, err := render(testOptions, st)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return r
}
