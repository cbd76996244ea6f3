package nodeipam

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"

	corev1 "skiff.dev/api/core/v1"
)

// adopt records the subnet a Node already has as used. A subnet outside
// the cluster CIDR is not ours: the Node keeps it and is left alone.
// Called with mu held.
func (ic *Controller) adopt(ctx context.Context, n *corev1.Node) {
	name, uid := n.GetMetadata().GetName(), n.GetMetadata().GetUid()
	p, err := netip.ParsePrefix(podCIDR(n))
	if err != nil {
		slog.WarnContext(ctx, "node has a pod CIDR that does not parse; left alone", "node", name, "podCIDR", podCIDR(n), "err", err)
		return
	}
	p = p.Masked()
	if a, ok := ic.byNode[name]; ok && a.uid == uid && a.cidr == p {
		return
	}
	ic.release(ctx, name) // a reservation the Node did not take, or a subnet it changed
	if err := ic.set.Occupy(p); err != nil {
		if errors.Is(err, ErrOutside) {
			slog.InfoContext(ctx, "node's pod CIDR is outside the cluster CIDR; left alone", "node", name, "podCIDR", p,
				"clusterCIDR", ic.cfg.ClusterCIDR)
		}
		return
	}
	for other, a := range ic.byNode {
		if a.cidr.Overlaps(p) {
			slog.WarnContext(ctx, "two nodes have overlapping pod CIDRs", "node", name, "podCIDR", p, "other", other, "otherPodCIDR", a.cidr)
		}
	}
	ic.byNode[name] = assignment{uid: uid, cidr: p}
}

// release frees the subnet recorded for a Node (what other Nodes' subnets
// overlap stays used) and wakes the Nodes waiting for one. Called with mu
// held.
func (ic *Controller) release(ctx context.Context, name string) {
	a, ok := ic.byNode[name]
	if !ok {
		return
	}
	delete(ic.byNode, name)
	_ = ic.set.Release(a.cidr) // recorded subnets are inside the cluster CIDR
	for _, b := range ic.byNode {
		if b.cidr.Overlaps(a.cidr) {
			_ = ic.set.Occupy(b.cidr)
		}
	}
	slog.InfoContext(ctx, "released pod CIDR", "node", name, "podCIDR", a.cidr)
	for w := range ic.waiting {
		ic.Enqueue(w)
	}
}
