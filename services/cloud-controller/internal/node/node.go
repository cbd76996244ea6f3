// Package node is the cloud-controller's node controller. Nodes that join
// with the node.cloudprovider.kubernetes.io/uninitialized taint get their
// provider ID, addresses and zone, region and instance-type labels from the
// cloud provider, then lose the taint; their addresses are refreshed
// every --node-status-update-frequency. Its lifecycle half checks the nodes
// that are not Ready every --node-monitor-period: a Node whose instance is
// gone is deleted, one whose instance is shut down gets the
// node.cloudprovider.kubernetes.io/shutdown taint until it is Ready again.
package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/cloudprovider"
	"skiff.dev/pkg/controller"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/workqueue"
)

// queueOptions back off failing keys from 200 ms to 5 min: each retry
// calls the cloud provider.
var queueOptions = workqueue.Options{BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Minute}

// Name is the controller's name in --controllers.
const Name = "node"

// Taints and labels, as Kubernetes names them.
const (
	UninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"
	ShutdownTaint      = "node.cloudprovider.kubernetes.io/shutdown"
	ZoneLabel          = "topology.kubernetes.io/zone"
	RegionLabel        = "topology.kubernetes.io/region"
	InstanceTypeLabel  = "node.kubernetes.io/instance-type"
)

// Config wires the controller.
type Config struct {
	Client  *client.Client
	Nodes   *informer.Informer[*corev1.Node]
	Workers int
	Events  *events.Recorder
	Observe controller.Observer
	// StatusUpdateFrequency is how often an initialized node's addresses
	// are refreshed from the provider.
	StatusUpdateFrequency time.Duration
	// MonitorPeriod is how often the nodes that are not Ready are checked
	// against their instances.
	MonitorPeriod time.Duration
}

// Controller is the node controller.
type Controller struct {
	cfg  Config
	ctrl *controller.Controller
	inst cloudprovider.Instances // the provider of the current term
}

// New builds the controller and registers its informer handlers.
func New(cfg Config) *Controller {
	c := &Controller{cfg: cfg}
	c.ctrl = &controller.Controller{Name: Name, Workers: cfg.Workers, Observe: cfg.Observe, Reconciler: controller.ReconcileFunc(c.reconcile), Queue: queueOptions,
		Keys: func() []string {
			var keys []string
			for _, n := range cfg.Nodes.Store().List() {
				keys = append(keys, n.GetMetadata().GetName())
			}
			return keys
		}}
	cfg.Nodes.AddHandler(informer.Handler[*corev1.Node]{
		OnAdd: func(n *corev1.Node) { c.ctrl.Enqueue(n.GetMetadata().GetName()) },
		OnUpdate: func(_, n *corev1.Node) {
			if hasTaint(n, UninitializedTaint) {
				c.ctrl.Enqueue(n.GetMetadata().GetName())
			}
		},
	})
	return c
}

// Run initializes nodes and watches their instances with inst until ctx
// ends: one leadership term. inst nil (a provider without instances) only
// removes the uninitialized taint.
func (c *Controller) Run(ctx context.Context, inst cloudprovider.Instances) error {
	c.inst = inst
	done := make(chan struct{})
	go func() {
		defer close(done)
		if inst != nil {
			c.monitor(ctx)
		}
	}()
	err := c.ctrl.Run(ctx)
	<-done
	return err
}

func hasTaint(n *corev1.Node, key string) bool {
	return slices.ContainsFunc(n.GetSpec().GetTaints(), func(t *corev1.Taint) bool { return t.GetKey() == key })
}

func (c *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	n, ok := c.cfg.Nodes.Store().Get(name)
	if !ok {
		return 0, nil
	}
	if c.inst == nil {
		if hasTaint(n, UninitializedTaint) {
			return 0, c.update(ctx, n, func(next *corev1.Node) { removeTaint(next, UninitializedTaint) })
		}
		return 0, nil
	}
	md, err := c.inst.InstanceMetadata(ctx, n)
	if err != nil {
		if hasTaint(n, UninitializedTaint) {
			c.cfg.Events.Eventf(n, events.Warning, "FailedToInitializeNode", "Error getting the instance metadata of node %s from the cloud provider: %v", name, err)
		}
		return 0, fmt.Errorf("instance metadata of node %s: %w", name, err)
	}
	if err := c.writeAddresses(ctx, n, md.Addresses); err != nil {
		return 0, err
	}
	if hasTaint(n, UninitializedTaint) {
		if err := c.update(ctx, n, func(next *corev1.Node) { initialize(next, md) }); err != nil {
			return 0, fmt.Errorf("initialize node %s: %w", name, err)
		}
		slog.InfoContext(ctx, "node initialized", "node", name, "providerID", md.ProviderID, "zone", md.Zone, "region", md.Region)
	}
	return c.cfg.StatusUpdateFrequency, nil
}

// initialize applies the metadata and removes the uninitialized taint.
func initialize(n *corev1.Node, md *cloudprovider.InstanceMetadata) {
	if n.Spec == nil {
		n.Spec = &corev1.NodeSpec{}
	}
	if n.Spec.ProviderId == "" {
		n.Spec.ProviderId = md.ProviderID
	}
	if n.Metadata.Labels == nil {
		n.Metadata.Labels = map[string]string{}
	}
	for label, v := range map[string]string{ZoneLabel: md.Zone, RegionLabel: md.Region, InstanceTypeLabel: md.InstanceType} {
		if v != "" {
			n.Metadata.Labels[label] = v
		}
	}
	removeTaint(n, UninitializedTaint)
}

func removeTaint(n *corev1.Node, key string) {
	n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, func(t *corev1.Taint) bool { return t.GetKey() == key })
}

// update changes a copy of the node and writes it.
func (c *Controller) update(ctx context.Context, n *corev1.Node, change func(*corev1.Node)) error {
	next := proto.Clone(n).(*corev1.Node)
	if next.Spec == nil {
		next.Spec = &corev1.NodeSpec{}
	}
	change(next)
	if proto.Equal(next, n) {
		return nil
	}
	_, err := c.cfg.Client.CoreV1().Nodes().Update(ctx, next, client.WriteOptions{})
	return err
}

// writeAddresses sets status.addresses when they differ.
func (c *Controller) writeAddresses(ctx context.Context, n *corev1.Node, addrs []*corev1.NodeAddress) error {
	if len(addrs) == 0 || addressesEqual(n.GetStatus().GetAddresses(), addrs) {
		return nil
	}
	next := proto.Clone(n).(*corev1.Node)
	if next.Status == nil {
		next.Status = &corev1.NodeStatus{}
	}
	next.Status.Addresses = addrs
	if _, err := c.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, next, client.WriteOptions{}); err != nil {
		return fmt.Errorf("write the addresses of node %s: %w", n.GetMetadata().GetName(), err)
	}
	// The taint goes with the next look, once the cache has the
	// addresses: an update now would conflict.
	return controller.ErrRetry
}

func addressesEqual(a, b []*corev1.NodeAddress) bool {
	return slices.EqualFunc(a, b, func(x, y *corev1.NodeAddress) bool {
		return x.GetType() == y.GetType() && x.GetAddress() == y.GetAddress()
	})
}

// monitor checks the nodes that are not Ready against their instances,
// every MonitorPeriod, until ctx ends.
func (c *Controller) monitor(ctx context.Context) {
	tick := time.NewTicker(c.cfg.MonitorPeriod)
	defer tick.Stop()
	for {
		for _, n := range c.cfg.Nodes.Store().List() {
			if err := c.checkInstance(ctx, n); err != nil && ctx.Err() == nil {
				slog.WarnContext(ctx, "node instance check failed", "node", n.GetMetadata().GetName(), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// checkInstance is Kubernetes' cloud node lifecycle for one node: a Ready
// node loses the shutdown taint; a node that is not Ready gets it when its
// instance is shut down, and is deleted when its instance is gone.
func (c *Controller) checkInstance(ctx context.Context, n *corev1.Node) error {
	name := n.GetMetadata().GetName()
	if ready(n) {
		if hasTaint(n, ShutdownTaint) {
			return c.update(ctx, n, func(next *corev1.Node) { removeTaint(next, ShutdownTaint) })
		}
		return nil
	}
	down, err := c.inst.InstanceShutdown(ctx, n)
	if err != nil {
		return fmt.Errorf("is the instance of node %s shut down: %w", name, err)
	}
	if down {
		if hasTaint(n, ShutdownTaint) {
			return nil
		}
		return c.update(ctx, n, func(next *corev1.Node) {
			next.Spec.Taints = append(next.Spec.Taints, &corev1.Taint{Key: ShutdownTaint, Effect: "NoSchedule", TimeAdded: timestamppb.Now()})
		})
	}
	exists, err := c.inst.InstanceExists(ctx, n)
	if err != nil {
		return fmt.Errorf("does the instance of node %s exist: %w", name, err)
	}
	if exists {
		return nil
	}
	slog.InfoContext(ctx, "deleting node: its instance is gone", "node", name)
	c.cfg.Events.Eventf(n, events.Normal, "DeletingNode", "Deleting node %s because its instance does not exist in the cloud provider", name)
	if _, err := c.cfg.Client.CoreV1().Nodes().Delete(ctx, name, nil); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", name, err)
	}
	return nil
}

func ready(n *corev1.Node) bool {
	for _, cond := range n.GetStatus().GetConditions() {
		if cond.GetType() == "Ready" {
			return cond.GetStatus() == "True"
		}
	}
	return false
}
