// Package nodeipam gives every Node its own pod subnet, as
// kube-controller-manager's range allocator does: a Node without
// spec.podCIDR gets the lowest free subnet of the cluster CIDR in
// spec.podCIDR and spec.podCIDRs, and a deleted Node's subnet is free
// again. Each leadership term starts by marking the subnets the Nodes
// already have as used, so a restart or a new leader never hands one out
// twice. Nodes whose subnet lies outside the cluster CIDR are left alone;
// when no subnet is free, the Node gets a CIDRNotAvailable event and waits.
package nodeipam

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "nodeipam"

// fullRetry is how often a Node that found no free subnet looks again (a
// deleted Node's subnet wakes the waiting ones at once).
const fullRetry = 30 * time.Second

// Config tunes the controller.
type Config struct {
	// ClusterCIDR is the IPv4 range the Nodes' subnets come from.
	ClusterCIDR netip.Prefix
	// NodeMaskSize is the prefix length of each Node's subnet.
	NodeMaskSize int
	Workers      int
}

// assignment is the subnet a Node (by uid) has or is being given.
type assignment struct {
	uid  string
	cidr netip.Prefix
}

// Controller is the node IPAM controller; its keys are Node names.
type Controller struct {
	*controller.Controller
	cfg   Config
	c     *client.Client
	nodes *informer.Informer[*corev1.Node]
	// Events warns Nodes that wait for a subnet (nil records nothing).
	Events *events.Recorder

	mu      sync.Mutex
	set     *CIDRSet
	byNode  map[string]assignment // what the cache shows, and our writes it does not show yet
	waiting map[string]bool       // Nodes that found no free subnet
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, cfg Config) *Controller {
	ic := &Controller{cfg: cfg, c: c, nodes: f.Nodes()}
	ic.Controller = &controller.Controller{Name: Name, Workers: cfg.Workers, Reconciler: controller.ReconcileFunc(ic.reconcile),
		Keys: func() []string {
			var out []string
			for _, n := range ic.nodes.Store().List() {
				out = append(out, n.GetMetadata().GetName())
			}
			return out
		}}
	enqueue := func(n *corev1.Node) { ic.Enqueue(n.GetMetadata().GetName()) }
	ic.nodes.AddHandler(informer.Handler[*corev1.Node]{
		OnAdd:    enqueue,
		OnDelete: enqueue,
		OnUpdate: func(old, n *corev1.Node) {
			// Heartbeats do not matter, unless the Node still needs a subnet.
			if podCIDR(n) == "" || podCIDR(old) != podCIDR(n) || old.GetMetadata().GetUid() != n.GetMetadata().GetUid() {
				enqueue(n)
			}
		},
	})
	return ic
}

// Run marks the subnets the cached Nodes have as used, then allocates
// until ctx ends. The manager calls it once the caches are synced, at the
// start of every leadership term.
func (ic *Controller) Run(ctx context.Context) error {
	if err := ic.occupyExisting(ctx); err != nil {
		slog.ErrorContext(ctx, "node IPAM cannot start", "err", err)
		return err
	}
	return ic.Controller.Run(ctx)
}

func (ic *Controller) occupyExisting(ctx context.Context) error {
	set, err := NewCIDRSet(ic.cfg.ClusterCIDR, ic.cfg.NodeMaskSize)
	if err != nil {
		return err
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.set, ic.byNode, ic.waiting = set, map[string]assignment{}, map[string]bool{}
	for _, n := range ic.nodes.Store().List() {
		ic.adopt(ctx, n)
	}
	slog.InfoContext(ctx, "node IPAM started", "clusterCIDR", ic.cfg.ClusterCIDR, "nodeMaskSize", ic.cfg.NodeMaskSize,
		"used", len(ic.byNode), "free", set.Free())
	return nil
}

// podCIDR is the subnet a Node has: its first podCIDRs entry, or podCIDR.
func podCIDR(n *corev1.Node) string {
	if cidrs := n.GetSpec().GetPodCidrs(); len(cidrs) > 0 {
		return cidrs[0]
	}
	return n.GetSpec().GetPodCidr()
}

// step is what is left to do for a Node once its bookkeeping is done.
type step int

const (
	stepNone  step = iota
	stepWrite      // write the reserved subnet
	stepWait       // no subnet is free: look again later
	stepWarn       // the same, and say so with an event (the wait begins)
)

func (ic *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	n, ok := ic.nodes.Store().Get(name)
	if !ok {
		n = nil
	}
	a, next := ic.decide(ctx, name, n)
	switch next {
	case stepWrite:
		return 0, ic.write(ctx, n, a.cidr)
	case stepWarn:
		ic.warnFull(ctx, n)
		return fullRetry, nil
	case stepWait:
		return fullRetry, nil
	}
	return 0, nil
}

// decide brings the bookkeeping up to date with a Node (nil: deleted) and
// reserves a subnet for it if it needs one. The writes it leads to are
// made without mu held.
func (ic *Controller) decide(ctx context.Context, name string, n *corev1.Node) (assignment, step) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if a, had := ic.byNode[name]; had && (n == nil || a.uid != n.GetMetadata().GetUid()) {
		ic.release(ctx, name) // deleted, or deleted and created again
	}
	switch {
	case n == nil:
		delete(ic.waiting, name)
		return assignment{}, stepNone
	case podCIDR(n) != "":
		delete(ic.waiting, name)
		ic.adopt(ctx, n)
		return assignment{}, stepNone
	}
	// The subnet reserved by an earlier try whose write the cache does not
	// show yet (or that failed), or the lowest free one.
	if a, ok := ic.byNode[name]; ok {
		return a, stepWrite
	}
	cidr, err := ic.set.Next()
	if err != nil { // ErrFull
		if ic.waiting[name] {
			return assignment{}, stepWait
		}
		ic.waiting[name] = true
		return assignment{}, stepWarn
	}
	delete(ic.waiting, name)
	a := assignment{uid: n.GetMetadata().GetUid(), cidr: cidr}
	ic.byNode[name] = a
	return a, stepWrite
}

// write sets the Node's podCIDR and podCIDRs through the main resource
// (the apiserver keeps the status it has); the cached resourceVersion makes
// a concurrent change of the Node a conflict, retried from the cache.
func (ic *Controller) write(ctx context.Context, n *corev1.Node, cidr netip.Prefix) error {
	updated := proto.Clone(n).(*corev1.Node)
	if updated.Spec == nil {
		updated.Spec = &corev1.NodeSpec{}
	}
	updated.Spec.PodCidr, updated.Spec.PodCidrs = cidr.String(), []string{cidr.String()}
	_, err := ic.c.CoreV1().Nodes().Update(ctx, updated, client.WriteOptions{})
	switch {
	case client.IsNotFound(err):
		return nil // the delete event releases the reservation
	case err != nil:
		return fmt.Errorf("set the pod CIDR of node %s to %s: %w", n.GetMetadata().GetName(), cidr, err)
	}
	slog.InfoContext(ctx, "allocated pod CIDR", "node", n.GetMetadata().GetName(), "podCIDR", cidr)
	return nil
}
