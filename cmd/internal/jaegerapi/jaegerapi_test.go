package jaegerapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"skiff.dev/cmd/internal/waterfall"
)

// testdata/trace.json is a real answer of Jaeger v1.75 (make jaeger) for
// the trace of a Deployment applied with kubectl: the apiserver's write,
// the controller-manager, scheduler and kubelet continuing it.
// testdata/notfound.json is its answer for an unknown trace.
const capturedTrace = "1cca7ce4a5888376ec450032327141dd"

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCapturedTrace(t *testing.T) {
	spans, err := Parse(readFile(t, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 97 {
		t.Errorf("got %d spans, want 97", len(spans))
	}
	byID := map[string]waterfall.Span{}
	services := map[string]int{}
	for _, s := range spans {
		byID[s.ID] = s
		services[s.Service]++
	}
	for _, svc := range []string{"apiserver", "controller-manager", "scheduler", "kubelet"} {
		if services[svc] == 0 {
			t.Errorf("no span of %s (services %v)", svc, services)
		}
	}
	// One root, the apiserver's server span of kubectl's request; every
	// other span hangs under it.
	var roots []waterfall.Span
	for _, s := range spans {
		if _, ok := byID[s.ParentID]; !ok {
			roots = append(roots, s)
		}
	}
	if len(roots) != 1 || roots[0].Service != "apiserver" || roots[0].Operation != "POST /apis/apps/v1/namespaces/default/deployments" || roots[0].ParentID != "" {
		t.Errorf("got roots %+v, want only the apiserver's POST", roots)
	}
	if r := roots[0]; r.Start.UnixMicro() != 1796284314067885 || r.Duration.Microseconds() != 9523 {
		t.Errorf("root starts %d µs and lasts %d µs, want 1796284314067885 and 9523", r.Start.UnixMicro(), r.Duration.Microseconds())
	}
}

func TestParseNotFound(t *testing.T) {
	if _, err := Parse(readFile(t, "notfound.json")); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/traces/" + capturedTrace:
			_, _ = w.Write(readFile(t, "trace.json"))
		case "/api/traces/broken":
			http.Error(w, "storage is down", http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(readFile(t, "notfound.json"))
		}
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + closed.Addr().String()
	closed.Close()

	for _, tc := range []struct {
		name, base, id string
		spans          int
		check          func(error) bool
	}{
		{"found", srv.URL + "/", capturedTrace, 97, func(err error) bool { return err == nil }},
		{"not found", srv.URL, "4bf92f3577b34da6a3ce929d0e0e4736", 0, func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"server error", srv.URL, "broken", 0, func(err error) bool { return err != nil && strings.Contains(err.Error(), "storage is down") }},
		{"unreachable", down, capturedTrace, 0, func(err error) bool {
			var u *UnreachableError
			return errors.As(err, &u) && u.URL == down
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans, err := (&Client{BaseURL: tc.base}).Trace(context.Background(), tc.id)
			if len(spans) != tc.spans || !tc.check(err) {
				t.Errorf("got %d spans and error %v, want %d spans and the expected error", len(spans), err, tc.spans)
			}
		})
	}
}

// TestRenderCapturedTrace: the real trace fits the width given, one row a
// span, the apiserver's write first.
func TestRenderCapturedTrace(t *testing.T) {
	spans, err := Parse(readFile(t, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := waterfall.Render(&b, capturedTrace, spans, 100); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3+97 {
		t.Fatalf("got %d lines, want a title, a blank line, a header and 97 rows", len(lines))
	}
	for _, l := range lines[2:] {
		if n := len([]rune(l)); n > 100 {
			t.Errorf("line of %d columns, want at most 100: %q", n, l)
		}
	}
	if !strings.HasPrefix(lines[3], "apiserver           POST /apis/apps/v1/") {
		t.Errorf("first row %q, want the apiserver's POST", lines[3])
	}
}
