package app

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// TestShutdownDelay: a server told to stop with --shutdown-delay-duration
// fails /readyz at once and goes on serving requests, as kube-apiserver
// does, so that load balancers drop it before it refuses connections.
func TestShutdownDelay(t *testing.T) {
	s := startServerWith(t, func(o *Options) { o.ShutdownDelay = 10 * time.Second })
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := s.http.Get("https://" + s.addr + path)
		if err != nil {
			t.Fatalf("GET %s while the shutdown delay runs: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before the stop: %d %s", code, body)
	}
	s.stop()
	pollUntil(t, func() bool {
		code, body := get("/readyz")
		return code == http.StatusServiceUnavailable && body == "shutting down\n"
	}, "/readyz answers 503 shutting down after the stop")
	if code, _ := s.do("GET", "/api/v1/namespaces/default", s.adminToken, ""); code != http.StatusOK {
		t.Errorf("a request during the shutdown delay: %d, want it served", code)
	}
}
