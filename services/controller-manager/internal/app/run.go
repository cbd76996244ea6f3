package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/controller"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/healthz"
	"skiff.dev/pkg/leaderelection"
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
	flush, err := o.Observability.Setup(ctx, "controller-manager")
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
	// Each controller's client: the manager's own, or with
	// --use-service-account-credentials one per controller account.
	clientFor := func(string) (*client.Client, error) { return c, nil }
	if o.UseServiceAccountCredentials {
		b := &clientbuilder.Builder{Root: c, Config: cfg}
		byAccount := map[string]*client.Client{}
		defer func() {
			for _, cc := range byAccount {
				_ = cc.Close()
			}
		}()
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
			return fmt.Errorf("client of the %s controller: %w", k.name, err)
		}
		r, err := k.build(deps{c: kc, f: f, o: o, workers: *o.Workers[k.name], observe: observe, events: eb})
		if err != nil {
			return fmt.Errorf("start the %s controller: %w", k.name, err)
		}
		runners = append(runners, r)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return eb.Run(gctx) })
	g.Go(func() error { return f.Start(gctx) })
	// The manager's own identity asks the reviews, whatever the
	// controllers' clients.
	if err := o.Serving.Serve(gctx, g, healthz.Handler(registry, o.Profiling), healthz.ClientReviewer(c)); err != nil {
		return err
	}
	g.Go(func() error {
		if !f.WaitForSync(gctx) {
			return nil
		}
		slog.InfoContext(gctx, "caches synced", "identity", o.Identity, "controllers", len(runners))
		run := func(ctx context.Context) {
			rg, rctx := errgroup.WithContext(ctx)
			for _, r := range runners {
				rg.Go(func() error { return r.Run(rctx) })
			}
			_ = rg.Wait()
		}
		if !o.LeaderElect {
			run(gctx)
			return nil
		}
		return leaderelection.Run(gctx, leaderelection.Config{
			Conn: c.Conn(), Election: "kube-controller-manager", Identity: o.Identity, LeaseDuration: o.LeaseDuration,
			OnStartedLeading: run,
		})
	})
	return g.Wait()
}
