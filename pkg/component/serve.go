package component

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	componentv1 "skiff.dev/api/component/v1"
	"skiff.dev/pkg/healthz"
)

// ZPages are the z-page paths the health port serves, as Kubernetes'
// components name them.
var ZPages = []string{"/statusz", "/flagz", "/configz"}

// Handler is everything the secure health port serves: /healthz and
// /livez, /readyz (ok once the caches have synced and while lists work),
// /metrics, /debug/pprof/ with profiling, the z-pages as JSON through
// grpc-gateway, and the ComponentStatusService over gRPC (HTTP/2 with
// content-type application/grpc). Serve it behind a Delegation, as
// SecureServing does, so only the health paths are open to anyone.
func (s *Status) Handler(ctx context.Context, registry *prometheus.Registry, profiling bool) (http.Handler, error) {
	mux := healthz.Handler(registry, profiling, s.ReadyCheck())
	gw := runtime.NewServeMux()
	if err := componentv1.RegisterComponentStatusServiceHandlerServer(ctx, gw, s); err != nil {
		return nil, fmt.Errorf("register the z-pages: %w", err)
	}
	for _, p := range ZPages {
		mux.Handle(p, gw)
	}
	srv := grpc.NewServer()
	componentv1.RegisterComponentStatusServiceServer(srv, s)
	context.AfterFunc(ctx, srv.Stop)
	return grpcOr(srv, mux), nil
}

// grpcOr sends gRPC requests to g and the rest to h.
func grpcOr(g *grpc.Server, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			g.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
