package netpol

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	corev1 "skiff.dev/api/core/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/proxy/internal/model"
	"skiff.dev/services/proxy/internal/syncloop"
)

// Controller watches pods, namespaces and NetworkPolicies cluster-wide and
// keeps the node's policy table in step: a sync soon after a change that
// matters, never two closer than minSync, and a full one every fullEvery.
type Controller struct {
	backend    *Backend
	pods       *informer.Informer[*corev1.Pod]
	namespaces *informer.Informer[*corev1.Namespace]
	policies   *informer.Informer[*networkingv1.NetworkPolicy]
	loop       *syncloop.Loop
	log        *slog.Logger
}

// NewController returns a controller for node that reads the apiserver
// through c and paces its syncs as cfg says; Run starts it.
func NewController(c *client.Client, node string, cfg syncloop.Config) (*Controller, error) {
	b, err := NewBackend(node)
	if err != nil {
		return nil, err
	}
	ctl := &Controller{
		backend:    b,
		pods:       informer.New(informer.FromResource(c.CoreV1().Pods("").Resource), informer.Options[*corev1.Pod]{}),
		namespaces: informer.New(informer.FromResource(c.CoreV1().Namespaces().Resource), informer.Options[*corev1.Namespace]{}),
		policies:   informer.New(informer.FromResource(c.NetworkingV1().NetworkPolicies("")), informer.Options[*networkingv1.NetworkPolicy]{}),
		log:        cfg.Log,
	}
	ctl.loop = syncloop.New(ctl, cfg)
	ctl.handlers()
	return ctl, nil
}

// Loop is the controller's sync loop, for health.
func (c *Controller) Loop() *syncloop.Loop { return c.loop }

// Caches are the controller's informers, for readiness.
func (c *Controller) Caches() []component.Cache {
	return []component.Cache{c.pods, c.namespaces, c.policies}
}

// handlers kick a sync on every change enforcement can see; a pod's
// status updates that change neither its address nor its labels do not,
// nor namespace writes that leave its labels alone.
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
			if !sameNamespace(old, ns) {
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
	return pa.Node == pb.Node && pa.IP == pb.IP && pa.Deleting == pb.Deleting && pa.Running == pb.Running &&
		slices.Equal(pa.Ports, pb.Ports) &&
		maps.Equal(pa.Labels, pb.Labels)
}

// sameNamespace reports whether a and b have the same labels, all that
// namespaceSelectors see.
func sameNamespace(a, b *corev1.Namespace) bool {
	return maps.Equal(NamespaceLabels(a), NamespaceLabels(b))
}

func (c *Controller) changed() {
	c.loop.Changed(context.Background(), time.Time{}, "")
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
		c.loop.Run(gctx)
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
	st.Pods = UniqueIPs(st.Pods, c.log)
	for _, ns := range c.namespaces.Store().List() {
		st.Namespaces[ns.GetMetadata().GetName()] = NamespaceLabels(ns)
	}
	return st
}

// Sync writes the table from the caches; it is the sync loop's target.
func (c *Controller) Sync(ctx context.Context, full bool) (model.SyncStats, error) {
	return c.backend.Sync(ctx, c.State(), full)
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
