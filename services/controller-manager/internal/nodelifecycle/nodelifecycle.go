// Package nodelifecycle watches the kubelets' heartbeats: a node whose
// Lease in kube-node-lease is not renewed within the grace period turns
// Ready=Unknown and is tainted node.kubernetes.io/unreachable (NoSchedule
// and NoExecute); one whose kubelet reports Ready=False is tainted
// node.kubernetes.io/not-ready. Pods are evicted once their toleration of
// the taint runs out, so their controllers replace them elsewhere.
// NoExecute tainting is rate-limited, so a network blip does not empty a
// cluster. A node that reports Ready again is untainted.
package nodelifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "nodelifecycle"

// The taints of nodes in trouble: a silent node is unreachable, one whose
// kubelet reports Ready=False is not-ready.
const (
	TaintUnreachable = "node.kubernetes.io/unreachable"
	TaintNotReady    = "node.kubernetes.io/not-ready"
)

// Config tunes the controller.
type Config struct {
	// MonitorPeriod is how often nodes are checked.
	MonitorPeriod time.Duration
	// GracePeriod is how long a node may go without a heartbeat.
	GracePeriod time.Duration
	// EvictionRate is how many nodes per second may be tainted NoExecute.
	EvictionRate float64
}

// Controller is the node lifecycle controller.
type Controller struct {
	cfg    Config
	c      *client.Client
	nodes  *informer.Informer[*corev1.Node]
	leases *informer.Informer[*coordinationv1.Lease]
	pods   *informer.Informer[*corev1.Pod]
	now    func() time.Time
	// Events tells of nodes registered and not ready and of the pods that
	// go not ready with them (nil records nothing); Evictions of the pods
	// it evicts.
	Events, Evictions *events.Recorder

	nextTaint time.Time       // the rate limiter: when the next node may be tainted
	known     map[string]bool // the nodes seen, for RegisteredNode
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, cfg Config) *Controller {
	return &Controller{cfg: cfg, c: c, nodes: f.Nodes(), leases: f.NodeLeases(), pods: f.Pods(), now: time.Now}
}

// Run checks every node each MonitorPeriod until ctx ends.
func (nc *Controller) Run(ctx context.Context) error {
	tick := time.NewTicker(nc.cfg.MonitorPeriod)
	defer tick.Stop()
	nc.known = map[string]bool{} // a new term registers every node again
	for {
		for _, n := range nc.nodes.Store().List() {
			nc.register(n)
			if err := nc.check(ctx, n); err != nil && ctx.Err() == nil {
				slog.WarnContext(ctx, "node lifecycle", "node", n.GetMetadata().GetName(), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// register tells of a node this controller has not seen before, as
// Kubernetes' does each time a controller-manager starts leading.
func (nc *Controller) register(n *corev1.Node) {
	name := n.GetMetadata().GetName()
	if nc.known[name] {
		return
	}
	nc.known[name] = true
	nc.Events.Eventf(n, events.Normal, "RegisteredNode", "Node %s event: Registered Node %s in Controller", name, name)
}

// lastHeartbeat is the latest of the Lease's renewal and the Ready
// condition's heartbeat.
func (nc *Controller) lastHeartbeat(n *corev1.Node) time.Time {
	var last time.Time
	if l, ok := nc.leases.Store().Get("kube-node-lease/" + n.GetMetadata().GetName()); ok && l.GetSpec().GetRenewTime() != nil {
		last = l.GetSpec().GetRenewTime().AsTime()
	}
	if c := readyCondition(n); c != nil && c.GetLastHeartbeatTime() != nil && c.GetLastHeartbeatTime().AsTime().After(last) {
		last = c.GetLastHeartbeatTime().AsTime()
	}
	if last.IsZero() {
		last = n.GetMetadata().GetCreationTimestamp().AsTime()
	}
	return last
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c
		}
	}
	return nil
}

func (nc *Controller) check(ctx context.Context, n *corev1.Node) error {
	now := nc.now()
	silent := now.Sub(nc.lastHeartbeat(n)) > nc.cfg.GracePeriod
	ready := readyCondition(n)
	switch {
	case silent && ready.GetStatus() != "Unknown":
		if err := nc.markUnknown(ctx, n, now); err != nil {
			return err
		}
		return nc.markPodsNotReady(ctx, n.GetMetadata().GetName(), now)
	case silent:
		if err := nc.taint(ctx, n, TaintUnreachable, now); err != nil {
			return err
		}
		return nc.evict(ctx, n, TaintUnreachable, now)
	case ready.GetStatus() == "False":
		if err := nc.taint(ctx, n, TaintNotReady, now); err != nil {
			return err
		}
		return nc.evict(ctx, n, TaintNotReady, now)
	case ready.GetStatus() == "True":
		return nc.untaint(ctx, n)
	}
	return nil
}

// markUnknown turns every condition Unknown, as Kubernetes does for a
// node whose kubelet stopped posting status.
func (nc *Controller) markUnknown(ctx context.Context, n *corev1.Node, now time.Time) error {
	updated := proto.Clone(n).(*corev1.Node)
	if updated.Status == nil {
		updated.Status = &corev1.NodeStatus{}
	}
	if readyCondition(updated) == nil {
		updated.Status.Conditions = append(updated.Status.Conditions, &corev1.NodeCondition{Type: "Ready"})
	}
	for _, c := range updated.Status.Conditions {
		c.Status, c.Reason, c.Message = "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."
		c.LastTransitionTime = timestamppb.New(now)
	}
	if _, err := nc.c.CoreV1().Nodes().UpdateStatus(ctx, updated, client.WriteOptions{}); err != nil {
		return fmt.Errorf("mark node unknown: %w", err)
	}
	slog.InfoContext(ctx, "node stopped posting status", "node", n.GetMetadata().GetName())
	if readyCondition(n).GetStatus() == "True" {
		nc.Events.Eventf(n, events.Normal, "NodeNotReady", "Node %s status is now: NodeNotReady", n.GetMetadata().GetName())
	}
	return nil
}

// markPodsNotReady sets Ready=False on the node's pods.
func (nc *Controller) markPodsNotReady(ctx context.Context, node string, now time.Time) error {
	for _, p := range nc.pods.Store().ByIndex(informer.IndexNodeName, node) {
		updated := proto.Clone(p).(*corev1.Pod)
		changed := false
		for _, c := range updated.GetStatus().GetConditions() {
			if c.GetType() == "Ready" && c.GetStatus() != "False" {
				c.Status, c.Reason, c.LastTransitionTime, changed = "False", "NodeNotReady", timestamppb.New(now), true
			}
		}
		if !changed {
			continue
		}
		if _, err := nc.c.CoreV1().Pods(p.GetMetadata().GetNamespace()).UpdateStatus(ctx, updated, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("mark pod %s not ready: %w", informer.KeyOf(p), err)
		}
		nc.Events.Eventf(p, events.Warning, "NodeNotReady", "Node is not ready")
	}
	return nil
}

func hasTaint(n *corev1.Node, key, effect string) bool {
	return slices.ContainsFunc(n.GetSpec().GetTaints(), func(t *corev1.Taint) bool {
		return t.GetKey() == key && t.GetEffect() == effect
	})
}

func ours(t *corev1.Taint) bool { return t.GetKey() == TaintUnreachable || t.GetKey() == TaintNotReady }

// taint gives a node the taints of its trouble (key) instead of any other
// trouble's, NoExecute no faster than the eviction rate allows.
func (nc *Controller) taint(ctx context.Context, n *corev1.Node, key string, now time.Time) error {
	stale := slices.ContainsFunc(n.GetSpec().GetTaints(), func(t *corev1.Taint) bool { return ours(t) && t.GetKey() != key })
	if !stale && hasTaint(n, key, "NoSchedule") && hasTaint(n, key, "NoExecute") {
		return nil
	}
	updated := proto.Clone(n).(*corev1.Node)
	if updated.Spec == nil {
		updated.Spec = &corev1.NodeSpec{}
	}
	updated.Spec.Taints = slices.DeleteFunc(updated.Spec.Taints, func(t *corev1.Taint) bool { return ours(t) && t.GetKey() != key })
	if !hasTaint(n, key, "NoSchedule") {
		updated.Spec.Taints = append(updated.Spec.Taints, &corev1.Taint{Key: key, Effect: "NoSchedule", TimeAdded: timestamppb.New(now)})
	}
	evicting := false
	if !hasTaint(n, key, "NoExecute") && !now.Before(nc.nextTaint) {
		updated.Spec.Taints = append(updated.Spec.Taints, &corev1.Taint{Key: key, Effect: "NoExecute", TimeAdded: timestamppb.New(now)})
		evicting = true
	}
	if _, err := nc.c.CoreV1().Nodes().Update(ctx, updated, client.WriteOptions{}); err != nil {
		return fmt.Errorf("taint node: %w", err)
	}
	if evicting && nc.cfg.EvictionRate > 0 {
		nc.nextTaint = now.Add(time.Duration(float64(time.Second) / nc.cfg.EvictionRate))
	}
	return nil
}

func (nc *Controller) untaint(ctx context.Context, n *corev1.Node) error {
	if !slices.ContainsFunc(n.GetSpec().GetTaints(), ours) {
		return nil
	}
	updated := proto.Clone(n).(*corev1.Node)
	updated.Spec.Taints = slices.DeleteFunc(updated.Spec.Taints, ours)
	if _, err := nc.c.CoreV1().Nodes().Update(ctx, updated, client.WriteOptions{}); err != nil {
		return fmt.Errorf("untaint node: %w", err)
	}
	slog.InfoContext(ctx, "node is back", "node", n.GetMetadata().GetName())
	return nil
}

// Tolerates says whether a pod tolerates a NoExecute taint at now, given
// when it was added.
func Tolerates(p *corev1.Pod, key string, added, now time.Time) bool {
	for _, t := range p.GetSpec().GetTolerations() {
		keyOK := t.GetKey() == key || (t.GetKey() == "" && t.GetOperator() == "Exists")
		effectOK := t.GetEffect() == "" || t.GetEffect() == "NoExecute"
		if !keyOK || !effectOK {
			continue
		}
		if t.TolerationSeconds == nil {
			return true // forever
		}
		return now.Before(added.Add(time.Duration(t.GetTolerationSeconds()) * time.Second))
	}
	return false
}

// evict deletes the pods on a node tainted key:NoExecute whose toleration
// ran out.
func (nc *Controller) evict(ctx context.Context, n *corev1.Node, key string, now time.Time) error {
	var added time.Time
	for _, t := range n.GetSpec().GetTaints() {
		if t.GetKey() == key && t.GetEffect() == "NoExecute" {
			added = t.GetTimeAdded().AsTime()
		}
	}
	if added.IsZero() {
		return nil
	}
	for _, p := range nc.pods.Store().ByIndex(informer.IndexNodeName, n.GetMetadata().GetName()) {
		if p.GetMetadata().GetDeletionTimestamp() != nil || Tolerates(p, key, added, now) {
			continue
		}
		if _, err := nc.c.CoreV1().Pods(p.GetMetadata().GetNamespace()).Delete(ctx, p.GetMetadata().GetName(), nil); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("evict pod %s: %w", informer.KeyOf(p), err)
		}
		nc.Evictions.Eventf(p, events.Normal, "TaintManagerEviction", "Marking for deletion Pod %s", informer.KeyOf(p))
		slog.InfoContext(ctx, "evicted pod", "pod", informer.KeyOf(p), "node", n.GetMetadata().GetName(), "taint", key)
	}
	return nil
}
