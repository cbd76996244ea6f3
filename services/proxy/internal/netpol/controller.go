package netpol

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/informer"
)

// Controller watches pods, namespaces and NetworkPolicies cluster-wide and
// keeps the node's policy table in step: a sync soon after a change that
// matters, never two closer than minSync, and a full one every fullEvery.
type Controller struct {
	backend    *Backend
	pods       *informer.Informer[*corev1.Pod]
	namespaces *informer.Informer[*corev1.Namespace]
	policies   *informer.Informer[*networkingv1.NetworkPolicy]
	minSync    time.Duration
	fullEvery  time.Duration
	log        *slog.Logger
	kick       chan struct{}
}

// NewController returns a controller for node that reads the apiserver
// through c; Run starts it.
func NewController(c *client.Client, node string, minSync, fullEvery time.Duration, log *slog.Logger) (*Controller, error) {
	b, err := NewBackend(node)
	if err != nil {
		return nil, err
	}
	ctl := &Controller{
		backend:    b,
		pods:       informer.New(informer.FromResource(c.CoreV1().Pods("").Resource), informer.Options[*corev1.Pod]{}),
		namespaces: informer.New(informer.FromResource(c.CoreV1().Namespaces().Resource), informer.Options[*corev1.Namespace]{}),
		policies:   informer.New(informer.FromResource(c.NetworkingV1().NetworkPolicies("")), informer.Options[*networkingv1.NetworkPolicy]{}),
		minSync:    minSync, fullEvery: fullEvery, log: log.With("controller", "network-policy"),
		kick: make(chan struct{}, 1),
	}
	ctl.handlers()
	return ctl, nil
}

// Caches are the controller's informers, for readiness.
func (c *Controller) Caches() []component.Cache {
	return []component.Cache{c.pods, c.namespaces, c.policies}
}

// handlers kick a sync on every change enforcement can see; a pod's
// status updates that change neither its address nor its labels do not.
func (c *Controller) handlers() {
	c.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd: func(*corev1.Pod) { c.changed() },
		OnUpdate: func(old, p *corev1.Pod) {
			if !samePod(old, p) {
				c.changed()
			}
		},
		OnDelete: func(*corev1.Pod) { c.changed() },
	})
	c.namespaces.AddHandler(informer.Handler[*corev1.Namespace]{
		OnAdd: func(*corev1.Namespace) { c.changed() },
		OnUpdate: func(old, ns *corev1.Namespace) {
			if !proto.Equal(old.GetMetadata(), ns.GetMetadata()) {
				c.changed()
			}
		},
		OnDelete: func(*corev1.Namespace) { c.changed() },
	})
	c.policies.AddHandler(informer.Handler[*networkingv1.NetworkPolicy]{
		OnAdd:    func(*networkingv1.NetworkPolicy) { c.changed() },
		OnUpdate: func(_, _ *networkingv1.NetworkPolicy) { c.changed() },
		OnDelete: func(*networkingv1.NetworkPolicy) { c.changed() },
	})
}

func samePod(a, b *corev1.Pod) bool {
	pa, oka := PodFrom(a)
	pb, okb := PodFrom(b)
	if oka != okb {
		return false
	}
	return pa.Node == pb.Node && pa.IP == pb.IP && slices.Equal(pa.Ports, pb.Ports) &&
		equalLabels(pa.Labels, pb.Labels)
}

func equalLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (c *Controller) changed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run starts the informers and, once they have synced, syncs the table
// until ctx ends. An empty cache would isolate nothing (or everything), so
// nothing is written before.
func (c *Controller) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.pods.Start(gctx) })
	g.Go(func() error { return c.namespaces.Start(gctx) })
	g.Go(func() error { return c.policies.Start(gctx) })
	g.Go(func() error {
		if !c.pods.WaitForSync(gctx) || !c.namespaces.WaitForSync(gctx) || !c.policies.WaitForSync(gctx) {
			return nil
		}
		c.log.Info("caches synced; enforcing network policies", "policies", c.policies.Store().Len(), "pods", c.pods.Store().Len())
		c.loop(gctx)
		return nil
	})
	return g.Wait()
}

// State is the cluster as the caches hold it now.
func (c *Controller) State() State {
	st := State{Namespaces: map[string]map[string]string{}, Policies: c.policies.Store().List()}
	for _, p := range c.pods.Store().List() {
		if pod, ok := PodFrom(p); ok {
			st.Pods = append(st.Pods, pod)
		}
	}
	for _, ns := range c.namespaces.Store().List() {
		st.Namespaces[ns.GetMetadata().GetName()] = NamespaceLabels(ns)
	}
	return st
}

// loop syncs until ctx ends; the first sync and the one after a failure
// are full ones.
func (c *Controller) loop(ctx context.Context) {
	full, failures := true, 0
	var last time.Time
	fullTimer := time.NewTimer(c.fullEvery)
	defer fullTimer.Stop()
	var retry <-chan time.Time
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-c.kick:
			case <-fullTimer.C:
				full = true
			case <-retry:
			}
		}
		if !sleep(ctx, c.minSync-time.Since(last)) {
			return
		}
		select {
		case <-c.kick: // covered by this sync
		default:
		}
		start := time.Now()
		stats, err := c.backend.Sync(ctx, c.State(), full)
		last = time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			backoff := max(min(c.minSync<<min(failures, 6), 30*time.Second), 100*time.Millisecond)
			c.log.Error("network policy sync failed; retrying with a full sync", "failures", failures, "retry_in", backoff, "err", err)
			full, retry = true, time.After(backoff)
			continue
		}
		failures, retry = 0, nil
		if full {
			fullTimer.Reset(c.fullEvery)
		}
		c.log.Debug("network policies synced", "full", full, "rules", stats.Rules, "written", stats.Written, "took", last.Sub(start))
		full = false
	}
}

// sleep waits d (nothing when not positive); false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Cleanup removes the policy table, for the proxy's --cleanup.
func Cleanup(ctx context.Context) error {
	b, err := NewBackend("")
	if err != nil {
		slog.Debug("cleanup: nft unavailable; no policy table to remove", "err", err)
		return nil
	}
	return b.Cleanup(ctx)
}
