// Package healthz serves a component's health, metrics and profiling
// endpoints, as Kubernetes' components serve them: /healthz, /livez and
// /readyz to anyone; /metrics and /debug/pprof/ only on an HTTPS port
// (SecureServing), to users the apiserver authenticates and authorizes
// (Delegation). A plain-HTTP port serves the health endpoints only, so
// that no credentials travel over it.
package healthz

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
)

// HealthPaths are the paths every port serves to anyone.
var HealthPaths = []string{"/healthz", "/livez", "/readyz"}

// HealthHandler serves the health paths only: "ok" while the process
// serves, but /readyz only while the ready checks pass.
func HealthHandler(ready ...Check) *http.ServeMux {
	mux := http.NewServeMux()
	addHealth(mux, ready...)
	return mux
}

// addHealth serves the health paths: "ok", but /readyz only while the
// ready checks pass.
func addHealth(mux *http.ServeMux, ready ...Check) {
	for _, p := range HealthPaths {
		if p == "/readyz" && len(ready) > 0 {
			mux.Handle(p, Checks(ready))
			continue
		}
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	}
}

// Handler serves the health paths, the registry's metrics at /metrics
// and, with profiling, Go profiles under /debug/pprof/; /readyz answers
// ok only while every ready check passes. Serve it behind a Delegation,
// which lets anyone read the health paths only; more paths may be added
// to the mux.
func Handler(registry *prometheus.Registry, profiling bool, ready ...Check) *http.ServeMux {
	mux := http.NewServeMux()
	addHealth(mux, ready...)
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	}
	return mux
}

// Serve listens on addr at once (so a taken port fails the start) and
// serves h over plain HTTP in g until ctx ends.
func Serve(ctx context.Context, g *errgroup.Group, addr string, h http.Handler) error {
	return serve(ctx, g, addr, h, nil)
}

// ServeTLS is Serve over TLS.
func ServeTLS(ctx context.Context, g *errgroup.Group, addr string, h http.Handler, cfg *tls.Config) error {
	return serve(ctx, g, addr, h, cfg)
}

func serve(ctx context.Context, g *errgroup.Group, addr string, h http.Handler, cfg *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: cfg,
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug)}
	g.Go(func() error {
		var err error
		if cfg != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		return srv.Shutdown(context.WithoutCancel(ctx))
	})
	return nil
}
