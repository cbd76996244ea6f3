//go:build linux && (amd64 || arm64)

package netpol

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/proxy/internal/model"
	"skiff.dev/services/proxy/internal/netnstest"
)

// netns is a test namespace whose nftables the backend under test writes.
type netns struct {
	*netnstest.Netns
	t testing.TB
}

func newNetns(t testing.TB) *netns {
	t.Helper()
	return &netns{Netns: netnstest.New(t, "skiff-np", "nft"), t: t}
}

// backend returns a Backend whose nft commands run in the namespace.
func (ns *netns) backend() *Backend {
	ns.t.Helper()
	var b *Backend
	if err := ns.Do(func() (err error) {
		b, err = NewBackend(node)
		return err
	}); err != nil {
		ns.t.Fatalf("NewBackend: %v", err)
	}
	return b
}

func (ns *netns) sync(b *Backend, st State, full bool) model.SyncStats {
	ns.t.Helper()
	var stats model.SyncStats
	if err := ns.Do(func() (err error) {
		stats, err = b.Sync(context.Background(), st, full)
		return err
	}); err != nil {
		ns.t.Fatalf("Sync(full=%v): %v", full, err)
	}
	return stats
}

func (ns *netns) cleanup(b *Backend) {
	ns.t.Helper()
	if err := ns.Do(func() error { return b.Cleanup(context.Background()) }); err != nil {
		ns.t.Fatalf("Cleanup: %v", err)
	}
}

// listing is the table as nft prints it, its blocks sorted (nft prints
// them in creation order).
// hasObject reports whether an nft listing declares or refers to an
// object whose name starts with prefix.
func hasObject(listing, prefix string) bool {
	return strings.Contains(listing, " "+prefix) || strings.Contains(listing, "@"+prefix)
}

func (ns *netns) listing() string {
	out := strings.TrimSpace(ns.Run(ns.t, "", "nft", "list", "table", Family, Table))
	out = strings.TrimSuffix(out, "}")
	_, out, _ = strings.Cut(out, "{\n")
	blocks := strings.Split(out, "\n\n")
	for i := range blocks {
		blocks[i] = strings.TrimSpace(blocks[i])
	}
	slices.Sort(blocks)
	return strings.Join(blocks, "\n\n")
}

// syncFixtures are states one change apart, and some further.
func syncFixtures() map[string]State {
	st := func(pods []Pod, ps ...*networkingv1.NetworkPolicy) State {
		return State{Pods: pods, Namespaces: testNamespaces, Policies: ps}
	}
	relabeled := slices.Clone(testPods)
	relabeled[2].Labels = map[string]string{"role": "client"}
	allow := policy("default", "p", &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"),
		Ingress: ingress([]*networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "client")},
			{IpBlock: &networkingv1.IPBlock{Cidr: "10.0.0.0/8", Except: []string{"10.244.0.0/16"}}}},
			namedPort("", "http"), intPort("UDP", 5000, 5010))})
	egressOnly := policy("default", "e", &networkingv1.NetworkPolicySpec{PodSelector: &metav1.LabelSelector{}, PolicyTypes: []string{"Egress"},
		Egress: egress([]*networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("env", "prod")}}, namedPort("", "http"), intPort("", 443, 0))})
	deny := policy("default", "deny", &networkingv1.NetworkPolicySpec{PodSelector: &metav1.LabelSelector{}})
	return map[string]State{
		"none":       st(testPods),
		"deny":       st(testPods, deny),
		"allow":      st(testPods, allow),
		"relabeled":  st(relabeled, allow),
		"all":        st(testPods, allow, egressOnly, deny),
		"egressOnly": st(testPods, egressOnly),
	}
}

// TestSyncs moves the table between every pair of states, incrementally
// in one namespace and with a full sync into a fresh table in another,
// and checks both kernels hold the same table.
func TestSyncs(t *testing.T) {
	fixtures := syncFixtures()
	inc, fresh := newNetns(t), newNetns(t)
	bi := inc.backend()
	names := slices.Sorted(maps.Keys(fixtures))
	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			t.Run(from+" to "+to, func(t *testing.T) {
				inc.t, fresh.t = t, t
				inc.sync(bi, fixtures[from], false)
				stats := inc.sync(bi, fixtures[to], false)
				bf := fresh.backend()
				fresh.sync(bf, fixtures[to], true)
				if got, want := inc.listing(), fresh.listing(); got != want {
					t.Errorf("incremental sync gave\n%s\nwant, as a full sync gives,\n%s", got, want)
				}
				if stats.Written == 0 {
					t.Errorf("got an empty incremental transaction between different states")
				}
				if again := inc.sync(bi, fixtures[to], false); again.Written != 0 {
					t.Errorf("got %d operations syncing the same state again, want none", again.Written)
				}
				fresh.cleanup(bf)
			})
		}
	}
	inc.t = t
	// With no policy nothing is isolated: none of the per-pod, per-policy
	// chains or the peer, CIDR and port sets "all" has may survive the
	// full sync.
	inc.sync(bi, fixtures["all"], false)
	prefixes := []string{"pod-", "policy-", "peer-", "cidrs-", "port-"}
	l := inc.listing()
	for _, prefix := range prefixes {
		if !hasObject(l, prefix) {
			t.Errorf("got no %q object for the state with every kind of rule:\n%s", prefix, l)
		}
	}
	inc.sync(bi, fixtures["none"], true)
	l = inc.listing()
	for _, prefix := range prefixes {
		if hasObject(l, prefix) {
			t.Errorf("got a previous state's %q object after a full sync:\n%s", prefix, l)
		}
	}
	inc.cleanup(bi)
	if out := inc.Run(t, "", "nft", "list", "tables"); strings.Contains(out, Table) {
		t.Errorf("got table %s after Cleanup:\n%s", Table, out)
	}
}

// TestLabelChangeIsSmall checks that a peer's label change writes set
// elements only, not chains.
func TestLabelChangeIsSmall(t *testing.T) {
	fixtures := syncFixtures()
	ns := newNetns(t)
	b := ns.backend()
	ns.sync(b, fixtures["allow"], true)
	if got := ns.sync(b, fixtures["relabeled"], false).Written; got != 1 {
		t.Errorf("got %d operations for one peer's new label, want 1 (one set element)", got)
	}
	ns.cleanup(b)
}
