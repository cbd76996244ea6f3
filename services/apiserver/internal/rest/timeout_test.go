package rest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"skiff.dev/services/apiserver/internal/apierrors"
)

// TestRequestTimeout: requests that are not long-running end at the
// request timeout (or the shorter timeout parameter) with 504 and
// Kubernetes' message, whether or not the handler heeds its context;
// long-running ones get no deadline.
func TestRequestTimeout(t *testing.T) {
	const max = 300 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stuck := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }) // ignores its context
	heeds := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		writeError(w, r, r.Context().Err())
	})
	noDeadline := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Deadline(); ok {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	fast := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Answer", "fast")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("{}"))
	})
	// begun starts its answer, then finishes it only after its context
	// ended: as a handler whose call failed with the request's deadline
	// answers at the moment the timeout fires.
	begun := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		<-r.Context().Done()
		_, _ = w.Write([]byte("{}"))
	})
	tests := []struct {
		name    string
		handler http.Handler
		target  string
		code    int
		message string
		within  time.Duration // a bound on how long the answer may take
	}{
		{"stuck handler", stuck, "/api/v1/namespaces/a/pods/x", 504, apierrors.MessageRequestTimeout, max + 5*time.Second},
		{"handler that heeds its context", heeds, "/api/v1/namespaces/a/pods", 504, apierrors.MessageRequestTimeout, max + 5*time.Second},
		{"non-resource request", stuck, "/version", 504, apierrors.MessageRequestTimeout, max + 5*time.Second},
		{"timeout parameter shorter", stuck, "/api/v1/pods?timeout=50ms", 504, apierrors.MessageRequestTimeout, max + 5*time.Second},
		{"timeout parameter longer is capped", stuck, "/api/v1/pods?timeout=1h", 504, apierrors.MessageRequestTimeout, max + 5*time.Second},
		{"bad timeout parameter", stuck, "/api/v1/pods?timeout=soon", 400,
			`invalid timeout specified in the request URL - time: invalid duration "soon"`, 5 * time.Second},
		{"an answer begun before the timeout is finished", begun, "/api/v1/namespaces/a/pods", 202, "", max + 5*time.Second},
		{"in time", fast, "/api/v1/namespaces/a/pods", 201, "", 5 * time.Second},
		{"watch is long-running", noDeadline, "/api/v1/pods?watch=true", 200, "", 5 * time.Second},
		{"exec is long-running", noDeadline, "/api/v1/namespaces/a/pods/x/exec", 200, "", 5 * time.Second},
		{"proxy is long-running", noDeadline, "/api/v1/namespaces/a/services/s/proxy/x", 200, "", 5 * time.Second},
		{"a get has a deadline", noDeadline, "/api/v1/namespaces/a/pods/x", 418, "", 5 * time.Second},
		{"a long-running path named by the caller", noDeadline, "/skiff/election/v1/campaign", 200, "", 5 * time.Second},
		{"another path of the same service has a deadline", noDeadline, "/skiff/election/v1/leader", 418, "", 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			start := time.Now()
			WithRequestTimeout(tt.handler, max, "/skiff/election/v1/campaign").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
			if took := time.Since(start); took > tt.within {
				t.Errorf("answered after %s, want within %s", took, tt.within)
			}
			if rec.Code != tt.code {
				t.Fatalf("code %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if tt.message != "" {
				var st struct {
					Reason, Message string
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("body %q: %v", rec.Body, err)
				}
				if st.Message != tt.message {
					t.Errorf("message %q, want %q", st.Message, tt.message)
				}
			}
			if tt.code == 201 && rec.Header().Get("X-Answer") != "fast" {
				t.Errorf("the handler's header was lost: %v", rec.Header())
			}
		})
	}
}
