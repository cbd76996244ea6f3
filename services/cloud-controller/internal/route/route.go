// Package route is the cloud-controller's route controller: every Node
// with a pod CIDR gets a route in the cloud that sends the CIDR to it,
// routes of nodes that are gone (within --cluster-cidr) are deleted, and
// each node's NetworkUnavailable condition says whether its route exists,
// as Kubernetes' route controller does.
package route

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/cloudprovider"
	"skiff.dev/pkg/controller"
	"skiff.dev/pkg/informer"
)

// Name is the controller's name in --controllers.
const Name = "route"

// NetworkUnavailable is the node condition the controller sets.
const NetworkUnavailable = "NetworkUnavailable"

// Config wires the controller.
type Config struct {
	Client      *client.Client
	Nodes       *informer.Informer[*corev1.Node]
	ClusterName string
	// ClusterCIDR bounds the routes the controller deletes; invalid (the
	// zero value) deletes any route whose node is gone.
	ClusterCIDR netip.Prefix
	// Period is how often the routes are reconciled even without node
	// changes (--route-reconciliation-period).
	Period  time.Duration
	Observe controller.Observer
}

// Controller is the route controller.
type Controller struct {
	cfg     Config
	changed chan struct{}
}

// New builds the controller and registers its informer handler.
func New(cfg Config) *Controller {
	c := &Controller{cfg: cfg, changed: make(chan struct{}, 1)}
	poke := func() {
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
	cfg.Nodes.AddHandler(informer.Handler[*corev1.Node]{
		OnAdd: func(*corev1.Node) { poke() },
		OnUpdate: func(old, n *corev1.Node) {
			if !slices.Equal(cidrs(old), cidrs(n)) {
				poke()
			}
		},
		OnDelete: func(*corev1.Node) { poke() },
	})
	return c
}

// Run reconciles the routes with routes until ctx ends: at once, after
// node changes and every Period.
func (c *Controller) Run(ctx context.Context, routes cloudprovider.Routes) error {
	tick := time.NewTicker(c.cfg.Period)
	defer tick.Stop()
	for {
		start := time.Now()
		err := c.reconcile(ctx, routes)
		if c.cfg.Observe != nil {
			c.cfg.Observe(Name, time.Since(start), err)
		}
		if err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "route reconcile failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-c.changed:
		}
	}
}

// cidrs are a node's pod CIDRs.
func cidrs(n *corev1.Node) []string {
	if out := n.GetSpec().GetPodCidrs(); len(out) > 0 {
		return out
	}
	if cidr := n.GetSpec().GetPodCidr(); cidr != "" {
		return []string{cidr}
	}
	return nil
}

type target struct{ node, cidr string }

func (c *Controller) reconcile(ctx context.Context, routes cloudprovider.Routes) error {
	existing, err := routes.ListRoutes(ctx, c.cfg.ClusterName)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	have := map[target]bool{}
	for _, r := range existing {
		if !r.Blackhole {
			have[target{r.TargetNode, r.DestinationCIDR}] = true
		}
	}
	nodes := c.cfg.Nodes.Store().List()
	want := map[target]bool{}
	for _, n := range nodes {
		name := n.GetMetadata().GetName()
		var failed error
		for _, cidr := range cidrs(n) {
			t := target{name, cidr}
			want[t] = true
			if have[t] {
				continue
			}
			err := routes.CreateRoute(ctx, c.cfg.ClusterName, n.GetMetadata().GetUid(), cloudprovider.Route{TargetNode: name, DestinationCIDR: cidr})
			if err != nil {
				failed = fmt.Errorf("create route %s → node %s: %w", cidr, name, err)
				slog.WarnContext(ctx, "route not created", "node", name, "cidr", cidr, "err", err)
				continue
			}
			slog.InfoContext(ctx, "route created", "node", name, "cidr", cidr)
		}
		if len(cidrs(n)) > 0 {
			if err := c.setCondition(ctx, n, failed); err != nil && ctx.Err() == nil {
				slog.WarnContext(ctx, "node condition not written", "node", name, "err", err)
			}
		}
	}
	for _, r := range existing {
		t := target{r.TargetNode, r.DestinationCIDR}
		if want[t] && !r.Blackhole || !c.ours(r.DestinationCIDR) {
			continue
		}
		if err := routes.DeleteRoute(ctx, c.cfg.ClusterName, r); err != nil {
			return fmt.Errorf("delete route %s → node %s: %w", r.DestinationCIDR, r.TargetNode, err)
		}
		slog.InfoContext(ctx, "route deleted", "node", r.TargetNode, "cidr", r.DestinationCIDR)
	}
	return nil
}

// ours reports whether a route's destination lies in the cluster CIDR.
func (c *Controller) ours(cidr string) bool {
	if !c.cfg.ClusterCIDR.IsValid() {
		return true
	}
	p, err := netip.ParsePrefix(cidr)
	return err == nil && c.cfg.ClusterCIDR.Bits() <= p.Bits() && c.cfg.ClusterCIDR.Contains(p.Addr())
}

// setCondition writes NetworkUnavailable: False (RouteCreated) when the
// node's routes exist, True (NoRouteCreated) when creating one failed.
func (c *Controller) setCondition(ctx context.Context, n *corev1.Node, failed error) error {
	cond := &corev1.NodeCondition{Type: NetworkUnavailable, Status: "False", Reason: "RouteCreated",
		Message: "RouteController created a route"}
	if failed != nil {
		cond = &corev1.NodeCondition{Type: NetworkUnavailable, Status: "True", Reason: "NoRouteCreated",
			Message: "RouteController failed to create a route"}
	}
	now := timestamppb.Now()
	next := proto.Clone(n).(*corev1.Node)
	if next.Status == nil {
		next.Status = &corev1.NodeStatus{}
	}
	i := slices.IndexFunc(next.Status.Conditions, func(x *corev1.NodeCondition) bool { return x.GetType() == NetworkUnavailable })
	if i >= 0 {
		old := next.Status.Conditions[i]
		if old.GetStatus() == cond.Status && old.GetReason() == cond.Reason {
			return nil
		}
		cond.LastTransitionTime = old.GetLastTransitionTime()
		if old.GetStatus() != cond.Status {
			cond.LastTransitionTime = now
		}
		cond.LastHeartbeatTime = now
		next.Status.Conditions[i] = cond
	} else {
		cond.LastTransitionTime, cond.LastHeartbeatTime = now, now
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	_, err := c.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, next, client.WriteOptions{})
	return err
}
