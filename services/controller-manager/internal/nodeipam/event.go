package nodeipam

import (
	"context"
	"log/slog"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
)

// Component is the events' source, Kubernetes' name for its range
// allocator.
const Component = "cidrAllocator"

// ReasonCIDRNotAvailable is the reason of the event a Node gets when no
// subnet is free for it.
const ReasonCIDRNotAvailable = "CIDRNotAvailable"

// warnFull tells the Node's readers (kubectl describe node, kubectl get
// events) that it waits for a subnet.
func (ic *Controller) warnFull(ctx context.Context, n *corev1.Node) {
	m := n.GetMetadata()
	cluster := ic.cfg.ClusterCIDR.Masked()
	slog.WarnContext(ctx, "no free pod CIDR for node", "node", m.GetName(), "clusterCIDR", cluster)
	ic.Events.Eventf(n, events.Warning, ReasonCIDRNotAvailable,
		"Node %s has no spec.podCIDR: all %d /%d subnets of the cluster CIDR %s are in use. "+
			"Delete the Nodes that are gone, or give the controller-manager a larger --cluster-cidr.",
		m.GetName(), 1<<(ic.cfg.NodeMaskSize-cluster.Bits()), ic.cfg.NodeMaskSize, cluster)
}
