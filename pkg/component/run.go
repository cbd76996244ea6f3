package component

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/healthz"
	"skiff.dev/pkg/leaderelection"
)

// Cache is informers a component must have synced before it works
// (pkg/informer's Informer, a factory of them).
type Cache interface {
	WaitForSync(ctx context.Context) bool
	// Ready is nil once synced and while lists work; else it says why.
	Ready() error
}

// Parts are what a component builds on its apiserver client for Run.
type Parts struct {
	// Metrics is served at /metrics.
	Metrics *prometheus.Registry
	// Caches must sync before Lead runs; /readyz is false while any is
	// not ready.
	Caches []Cache
	// Background runs from the start until ctx ends on every replica
	// (informers, event broadcasters); an error stops the component.
	Background []func(ctx context.Context) error
	// Lead is the work of the leader, run once the caches have synced,
	// for as long as this replica leads; it returns when ctx ends.
	Lead func(ctx context.Context)
	// Close, if set, runs when Run returns.
	Close func()
}

// Build makes a component's parts on its apiserver client c, made from
// cfg (--kubeconfig). On error it releases what it made.
type Build func(ctx context.Context, c *client.Client, cfg client.Config) (*Parts, error)

// Run is the start-up the controlling components share, in the order
// they need: logs and traces, the apiserver client, the component's
// parts, the background work and the secure health port, the caches'
// sync, then the leader's work, under leader election with
// --leader-elect. name names the component in traces and z-pages; config
// (the component's whole options) is what /configz shows. The caller has
// validated the options.
func Run(ctx context.Context, name string, o *Options, config any, build Build) error {
	flush, err := o.Observability.Setup(ctx, name)
	if err != nil {
		return err
	}
	defer flush()
	cfg, err := client.FromKubeconfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := build(ctx, c, cfg)
	if err != nil {
		return err
	}
	if p.Close != nil {
		defer p.Close()
	}
	return run(ctx, c, o, NewStatus(name, o, config, p.Caches), p)
}

func run(ctx context.Context, c *client.Client, o *Options, st *Status, p *Parts) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	for _, f := range p.Background {
		g.Go(func() error { return f(gctx) })
	}
	err := func() error {
		h, err := st.Handler(gctx, p.Metrics, o.Profiling)
		if err != nil {
			return err
		}
		// The component's own identity asks the reviews.
		return o.Serving.Serve(gctx, g, h, healthz.ClientReviewer(c))
	}()
	if err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	g.Go(func() error { return lead(gctx, c, o, st, p) })
	return g.Wait()
}

// lead waits for the caches, then runs the leader's work: at once
// without --leader-elect, else while this replica leads.
func lead(ctx context.Context, c *client.Client, o *Options, st *Status, p *Parts) error {
	for _, cache := range p.Caches {
		if !cache.WaitForSync(ctx) {
			return nil
		}
	}
	le := o.LeaderElection
	slog.InfoContext(ctx, "caches synced", "identity", le.Identity)
	work := func(ctx context.Context) {
		st.SetLeading(true)
		defer st.SetLeading(false)
		p.Lead(ctx)
	}
	if !le.LeaderElect {
		work(ctx)
		return nil
	}
	return leaderelection.Run(ctx, leaderelection.Config{
		Conn: c.Conn(), Election: le.ResourceName, Identity: le.Identity, LeaseDuration: le.LeaseDuration,
		RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod, Namespace: le.ResourceNamespace,
		OnStartedLeading: work,
	})
}
