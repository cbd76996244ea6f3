package healthz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

func TestServe(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Add(3)

	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	if err := Serve(gctx, g, "127.0.0.1:0", Handler(reg, false)); err != nil {
		t.Fatal(err)
	}
	if err := Serve(gctx, g, "256.0.0.1:1", Handler(reg, false)); err == nil {
		t.Fatal("listening on a bad address worked")
	}
	cancel()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "things_total 3"} {
		rec := httpGet(t, Handler(reg, false), path)
		if !strings.Contains(rec, want) {
			t.Errorf("%s: %q does not contain %q", path, rec, want)
		}
	}
	if got := httpGet(t, Handler(reg, false), "/debug/pprof/"); strings.Contains(got, "goroutine") {
		t.Error("profiles served without profiling")
	}
	if got := httpGet(t, Handler(reg, true), "/debug/pprof/"); !strings.Contains(got, "goroutine") {
		t.Error("no profiles with profiling")
	}
}

func httpGet(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.String()
}
