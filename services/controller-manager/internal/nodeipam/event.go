package nodeipam

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// component is the events' source, Kubernetes' name for its range
// allocator.
const component = "cidrAllocator"

// ReasonCIDRNotAvailable is the reason of the event a Node gets when no
// subnet is free for it.
const ReasonCIDRNotAvailable = "CIDRNotAvailable"

// warnFull tells the Node's readers (kubectl describe node, kubectl get
// events) that it waits for a subnet; a failure to say so is only logged.
func (ic *Controller) warnFull(ctx context.Context, n *corev1.Node) {
	m := n.GetMetadata()
	cluster := ic.cfg.ClusterCIDR.Masked()
	slog.WarnContext(ctx, "no free pod CIDR for node", "node", m.GetName(), "clusterCIDR", cluster)
	msg := fmt.Sprintf("Node %s has no spec.podCIDR: all %d /%d subnets of the cluster CIDR %s are in use. "+
		"Delete the Nodes that are gone, or give the controller-manager a larger --cluster-cidr.",
		m.GetName(), 1<<(ic.cfg.NodeMaskSize-cluster.Bits()), ic.cfg.NodeMaskSize, cluster)
	now := timestamppb.Now()
	ev := &corev1.Event{
		Metadata:       &metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", m.GetName(), time.Now().UnixNano()), Namespace: "default"},
		InvolvedObject: &corev1.ObjectReference{Kind: "Node", ApiVersion: "v1", Name: m.GetName(), Uid: m.GetUid()},
		Type:           "Warning", Reason: ReasonCIDRNotAvailable, Message: msg, Count: 1,
		Source:         &corev1.EventSource{Component: component},
		FirstTimestamp: now, LastTimestamp: now,
	}
	if _, err := ic.c.CoreV1().Events("default").Create(ctx, ev, client.WriteOptions{}); err != nil && ctx.Err() == nil {
		slog.DebugContext(ctx, "event not recorded", "node", m.GetName(), "reason", ReasonCIDRNotAvailable, "err", err)
	}
}
