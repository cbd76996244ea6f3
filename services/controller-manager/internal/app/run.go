package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/controller"
	"skiff.dev/pkg/events"
	"skiff.dev/services/controller-manager/internal/clientbuilder"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Run runs the enabled controllers until ctx ends: informers start at
// once, so a standby replica has warm caches, and the controllers work
// only while this replica leads.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return component.Run(ctx, "controller-manager", &o.Options, o, func(_ context.Context, c *client.Client, cfg client.Config) (*component.Parts, error) {
		return build(o, c, cfg)
	})
}

// build makes the enabled controllers on the shared informers, each with
// its client: the manager's own, or with --use-service-account-credentials
// one per controller account.
func build(o *Options, c *client.Client, cfg client.Config) (_ *component.Parts, err error) {
	clientFor := func(string) (*client.Client, error) { return c, nil }
	byAccount := map[string]*client.Client{}
	closeAll := func() {
		for _, cc := range byAccount {
			_ = cc.Close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	if o.UseServiceAccountCredentials {
		b := &clientbuilder.Builder{Root: c, Config: cfg}
		clientFor = func(account string) (*client.Client, error) {
			if cc, ok := byAccount[account]; ok {
				return cc, nil
			}
			cc, err := b.ClientFor(account)
			if err == nil {
				byAccount[account] = cc
			}
			return cc, err
		}
	}

	registry := prometheus.NewRegistry()
	observe := controller.NewMetrics(registry).Observe
	f := informers.New(c)
	eb := events.NewBroadcaster(events.ClientSink{C: c})
	var runners []runner
	for _, k := range known {
		if !o.Enabled(k.name) {
			continue
		}
		kc, err := clientFor(accounts[k.name])
		if err != nil {
			return nil, fmt.Errorf("client of the %s controller: %w", k.name, err)
		}
		r, err := k.build(deps{c: kc, f: f, o: o, workers: *o.Workers[k.name], observe: observe, events: eb})
		if err != nil {
			return nil, fmt.Errorf("start the %s controller: %w", k.name, err)
		}
		runners = append(runners, r)
	}
	slog.Info("controllers built", "controllers", len(runners))
	lead := func(ctx context.Context) {
		rg, rctx := errgroup.WithContext(ctx)
		for _, r := range runners {
			rg.Go(func() error { return r.Run(rctx) })
		}
		_ = rg.Wait()
	}
	return &component.Parts{Metrics: registry, Caches: []component.Cache{f},
		Background: []func(context.Context) error{eb.Run, f.Start}, Lead: lead, Close: closeAll}, nil
}
