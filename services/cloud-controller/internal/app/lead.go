package app

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"skiff.dev/pkg/cloudprovider"
	"skiff.dev/pkg/pluginproc"
	"skiff.dev/services/cloud-controller/internal/local"
)

// lead is one leadership term: start the provider, replay what it must
// remember, run the controllers; the provider stops with the term, so a
// standby replica runs none and a new leader starts from the cluster's
// state.
func (a *app) lead(ctx context.Context) {
	cloud, run, err := a.startProvider(ctx)
	if err != nil {
		return // ctx ended while the provider would not start
	}
	g, gctx := errgroup.WithContext(ctx)
	if run != nil {
		g.Go(func() error { run(gctx); return nil })
	}
	if a.service != nil {
		if cloud.LoadBalancer != nil {
			g.Go(func() error { return a.service.Run(gctx, cloud.LoadBalancer) })
		} else {
			slog.InfoContext(ctx, "the cloud provider has no load balancers; Services of type LoadBalancer stay pending", "provider", cloud.Name)
		}
	}
	if a.node != nil {
		g.Go(func() error { return a.node.Run(gctx, cloud.Instances) })
	}
	if a.route != nil {
		if cloud.Routes != nil {
			g.Go(func() error { return a.route.Run(gctx, cloud.Routes) })
		} else {
			slog.InfoContext(ctx, "the cloud provider has no routes; route controller not started", "provider", cloud.Name)
		}
	}
	if a.pvlabel != nil {
		if cloud.Volumes != nil {
			g.Go(func() error { return a.pvlabel.Run(gctx, cloud.Volumes) })
		} else {
			slog.InfoContext(ctx, "the cloud provider does not label volumes; persistentvolume-label controller not started", "provider", cloud.Name)
		}
	}
	_ = g.Wait()
}

// startProvider starts the configured provider and replays the Services
// that show addresses into it, retrying with back-off until it works or
// ctx ends. run, if not nil, supervises a plugin for the term.
func (a *app) startProvider(ctx context.Context) (cloudprovider.Cloud, func(context.Context), error) {
	backoff := pluginproc.DefaultBackoff()
	for {
		cloud, run, err := a.tryProvider(ctx)
		if err == nil {
			slog.InfoContext(ctx, "cloud provider started", "provider", cloud.Name, "instances", cloud.Capabilities.Instances,
				"loadBalancers", cloud.LoadBalancers, "routes", cloud.Capabilities.Routes)
			return cloud, run, nil
		}
		if ctx.Err() != nil {
			return cloudprovider.Cloud{}, nil, ctx.Err()
		}
		d := backoff.Next(0)
		slog.ErrorContext(ctx, "cloud provider did not start; trying again", "provider", a.o.CloudProvider, "in", d, "err", err)
		select {
		case <-ctx.Done():
			return cloudprovider.Cloud{}, nil, ctx.Err()
		case <-time.After(d):
		}
	}
}

func (a *app) tryProvider(ctx context.Context) (cloudprovider.Cloud, func(context.Context), error) {
	if a.o.CloudProvider == local.Name {
		p := &local.Provider{}
		if err := p.Initialize(ctx, a.config, a.o.ClusterName); err != nil {
			return cloudprovider.Cloud{}, nil, err
		}
		cloud := cloudprovider.FromImpl(local.Name, p)
		if err := a.replay(ctx, cloud); err != nil {
			return cloudprovider.Cloud{}, nil, err
		}
		return cloud, nil, nil
	}
	p, err := cloudprovider.StartPlugin(ctx, cloudprovider.PluginConfig{
		Path: a.o.CloudProvider, Config: a.config, ClusterName: a.o.ClusterName,
		Timeout: a.o.PluginCallTimeout, Level: a.o.Level(),
		OnStart:   a.replay,
		Restarted: a.metrics.pluginRestarts.Inc,
	})
	if err != nil {
		return cloudprovider.Cloud{}, nil, err
	}
	return p.Cloud(), p.Run, nil
}

// replay runs after every start of the provider, before it takes other
// calls.
func (a *app) replay(ctx context.Context, cloud cloudprovider.Cloud) error {
	if a.service == nil || cloud.LoadBalancer == nil {
		return nil
	}
	return a.service.Replay(ctx, cloud.LoadBalancer)
}
