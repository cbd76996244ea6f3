package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/healthz"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/proxy/internal/conntrack"
	"skiff.dev/services/proxy/internal/iptables"
	"skiff.dev/services/proxy/internal/model"
	"skiff.dev/services/proxy/internal/netpol"
	"skiff.dev/services/proxy/internal/nftables"
	"skiff.dev/services/proxy/internal/syncloop"
)

// Run programs the node's rules until ctx ends; with --cleanup it removes
// them instead and returns.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	flush, err := o.Observability.Setup(ctx, "proxy")
	if err != nil {
		return err
	}
	defer flush()
	log := slog.Default().With("mode", o.ProxyMode, "node", o.HostnameOverride)
	bopts := model.Options{
		NodeName:       o.HostnameOverride,
		NodeIPs:        o.NodePortAddresses,
		ClusterCIDR:    o.ClusterCIDR,
		MasqueradeMark: 1 << o.MasqueradeBit,
	}
	if o.Cleanup {
		return errors.Join(cleanup(ctx, bopts, ""), netpol.Cleanup(ctx))
	}
	backend, err := newBackend(o.ProxyMode, bopts)
	if err != nil {
		return err
	}
	// Rules of the other mode, left by an earlier run, would handle the
	// same addresses first; remove them, as kube-proxy does.
	if err := cleanup(ctx, bopts, o.ProxyMode); err != nil {
		log.Warn("removing the other mode's rules", "err", err)
	}

	c, err := client.NewFromKubeconfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	defer c.Close()

	services := informer.New(informer.FromResource(c.CoreV1().Services("")), informer.Options[*corev1.Service]{})
	slices := informer.New(informer.FromResource(c.DiscoveryV1().EndpointSlices("")), informer.Options[*discoveryv1.EndpointSlice]{})
	reg := prometheus.NewRegistry()
	rules := &serviceRules{backend: backend, log: log, clear: conntrack.Clear, state: func() model.State {
		return buildState(log, services.Store().List(), slices.Store().List())
	}}
	loop := syncloop.New(rules, syncloop.Config{MinSync: o.MinSyncPeriod, FullEvery: o.SyncPeriod, Log: log, Span: "proxy.SyncRules",
		Metrics: syncloop.NewMetrics(reg, "kubeproxy_sync_proxy_rules", "kubeproxy_network_programming_duration_seconds",
			prometheus.Labels{"mode": o.ProxyMode})})
	// Each change continues the trace of the write that made it.
	svcChanged := func(s *corev1.Service) {
		loop.Changed(telemetry.ContextFromAnnotations(ctx, s.GetMetadata().GetAnnotations()), time.Time{}, "Service "+informer.KeyOf(s))
	}
	sliceChanged := func(es *discoveryv1.EndpointSlice) {
		loop.Changed(telemetry.ContextFromAnnotations(ctx, es.GetMetadata().GetAnnotations()), triggerTime(es), "EndpointSlice "+informer.KeyOf(es))
	}
	services.AddHandler(informer.Handler[*corev1.Service]{
		OnAdd:    svcChanged,
		OnUpdate: func(_, s *corev1.Service) { svcChanged(s) },
		OnDelete: func(*corev1.Service) { loop.Changed(ctx, time.Time{}, "") },
	})
	slices.AddHandler(informer.Handler[*discoveryv1.EndpointSlice]{
		OnAdd:    sliceChanged,
		OnUpdate: func(_, es *discoveryv1.EndpointSlice) { sliceChanged(es) },
		OnDelete: func(*discoveryv1.EndpointSlice) { loop.Changed(ctx, time.Time{}, "") },
	})

	st := component.NewNodeStatus("proxy", o.Flags, o)
	st.AddCaches(services, slices)
	g, gctx := errgroup.WithContext(ctx)
	checks := []health{{"", loop}}
	policyLoop, err := startNetworkPolicy(gctx, g, o, c, st, reg, log)
	if err != nil {
		return err
	}
	if policyLoop != nil {
		checks = append(checks, health{"network policy: ", policyLoop})
	}
	g.Go(func() error { return services.Start(gctx) })
	g.Go(func() error { return slices.Start(gctx) })
	if err := serve(gctx, g, o, c, checks, st, reg); err != nil {
		return err
	}
	g.Go(func() error {
		// An empty cache would program an empty table and cut every
		// Service off until the lists arrive.
		if !services.WaitForSync(gctx) || !slices.WaitForSync(gctx) {
			return nil
		}
		log.Info("caches synced; programming rules", "services", services.Store().Len(), "endpointslices", slices.Store().Len())
		loop.Run(gctx)
		return nil
	})
	return g.Wait()
}

// startNetworkPolicy runs the NetworkPolicy controller in g and returns
// its sync loop, or with --network-policy=false removes the table an
// earlier run left and returns nil.
func startNetworkPolicy(ctx context.Context, g *errgroup.Group, o *Options, c *client.Client, st *component.Status, reg prometheus.Registerer, log *slog.Logger) (*syncloop.Loop, error) {
	if !o.NetworkPolicy {
		if err := netpol.Cleanup(ctx); err != nil {
			log.Warn("removing the network policy table", "err", err)
		}
		return nil, nil
	}
	log = log.With("controller", "network-policy")
	ctl, err := netpol.NewController(c, o.HostnameOverride, syncloop.Config{
		MinSync: o.MinSyncPeriod, FullEvery: o.SyncPeriod, Log: log, Span: "proxy.SyncNetworkPolicies",
		Metrics: syncloop.NewMetrics(reg, "skiff_proxy_sync_network_policy_rules", "skiff_proxy_network_policy_programming_duration_seconds", nil),
	})
	if err != nil {
		return nil, err
	}
	st.AddCaches(ctl.Caches()...)
	g.Go(func() error { return ctl.Run(ctx) })
	return ctl.Loop(), nil
}

// serve starts the health port and the secure metrics port.
func serve(ctx context.Context, g *errgroup.Group, o *Options, c *client.Client, loops []health, st *component.Status, reg *prometheus.Registry) error {
	if o.HealthzBindAddress != "" {
		if err := healthz.Serve(ctx, g, o.HealthzBindAddress, healthHandler(loops, st.ReadyCheck())); err != nil {
			return err
		}
	}
	if o.MetricsBindAddress == "" {
		return nil
	}
	// Unlike kube-proxy's, over HTTPS (self-signed) to users the
	// apiserver authorizes, as the control plane's metrics and z-pages.
	h, err := st.Handler(ctx, reg, o.Profiling)
	if err != nil {
		return err
	}
	secure := healthz.NewSecureServing(0)
	return secure.ServeAt(ctx, g, o.MetricsBindAddress, h, healthz.ClientReviewer(c))
}

func newBackend(mode string, opts model.Options) (model.Backend, error) {
	if mode == ModeIptables {
		return iptables.New(opts)
	}
	return nftables.New(opts)
}

// cleanup removes the rules of every mode but keep ("" removes all).
// A mode whose tool is missing has nothing to remove.
func cleanup(ctx context.Context, opts model.Options, keep string) error {
	var errs []error
	for _, mode := range []string{ModeNftables, ModeIptables} {
		if mode == keep {
			continue
		}
		b, err := newBackend(mode, opts)
		if err != nil {
			slog.Debug("cleanup: mode unavailable", "mode", mode, "err", err)
			continue
		}
		if err := b.Cleanup(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", mode, err))
		}
	}
	return errors.Join(errs...)
}

func triggerTime(es *discoveryv1.EndpointSlice) time.Time {
	t, err := time.Parse(time.RFC3339Nano, es.GetMetadata().GetAnnotations()[annotationTriggerTime])
	if err != nil {
		return time.Time{}
	}
	return t
}

// health is a sync loop /healthz reports on; prefix names it in a failure.
type health struct {
	prefix string
	loop   interface{ Healthy() (bool, string) }
}

// healthHandler serves /healthz and /livez from the sync loops' state, as
// kube-proxy's health server does: 503 until every loop's first sync, and
// when changes wait too long or syncs keep failing; and /readyz while the
// ready checks pass.
func healthHandler(loops []health, ready ...healthz.Check) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/readyz", healthz.Checks(ready))
	h := func(w http.ResponseWriter, _ *http.Request) {
		for _, l := range loops {
			if ok, why := l.loop.Healthy(); !ok {
				http.Error(w, l.prefix+why, http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok"))
	}
	mux.HandleFunc("/healthz", h)
	mux.HandleFunc("/livez", h)
	return mux
}
