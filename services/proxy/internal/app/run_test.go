package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type fixedHealth struct {
	ok  bool
	why string
}

func (f fixedHealth) Healthy() (bool, string) { return f.ok, f.why }

func TestHealthzReportsEveryLoop(t *testing.T) {
	tests := []struct {
		name     string
		policy   fixedHealth
		wantCode int
		wantBody string
	}{
		{"both synced", fixedHealth{true, "ok"}, http.StatusOK, "ok"},
		{"policy sync failing", fixedHealth{false, "rules not synced yet"}, http.StatusServiceUnavailable, "network policy: rules not synced yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := healthHandler([]health{{"", fixedHealth{true, "ok"}}, {"network policy: ", tt.policy}})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != tt.wantCode || strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}
}
