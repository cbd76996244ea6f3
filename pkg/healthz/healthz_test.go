package healthz

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// TestServe: a taken or bad address fails at once; a plain-HTTP port
// serving HealthHandler has the health paths and nothing else.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	if err := Serve(gctx, g, addr, HealthHandler()); err != nil {
		t.Fatal(err)
	}
	if err := Serve(gctx, g, addr, HealthHandler()); err == nil {
		t.Error("listening on a taken address worked")
	}
	if err := Serve(gctx, g, "256.0.0.1:1", HealthHandler()); err == nil {
		t.Error("listening on a bad address worked")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	for path, want := range map[string]int{"/healthz": 200, "/livez": 200, "/readyz": 200, "/metrics": 404, "/debug/pprof/": 404} {
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != want || want == 200 && string(body) != "ok" {
			t.Errorf("GET %s: %d %q, want %d", path, resp.StatusCode, body, want)
		}
	}
	cancel()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestServeTLS: the secure port speaks HTTPS only.
func TestServeTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	o := NewSecureServing(0)
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	if err := o.ServeAt(gctx, g, addr, Handler(metricsRegistry(), false), newFake()); err != nil {
		t.Fatal(err)
	}
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsSkipVerify()}}
	resp, err := insecure.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Errorf("GET https /healthz: %d %q", resp.StatusCode, body)
	}
	resp, err = (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz")
	if err == nil {
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == 200 || !strings.Contains(string(body), "HTTPS") {
			t.Errorf("plain HTTP on the secure port: %d %q", resp.StatusCode, body)
		}
	}
	cancel()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}
