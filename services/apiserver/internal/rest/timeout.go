package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"skiff.dev/services/apiserver/internal/apierrors"
)

// WithRequestTimeout bounds every request that is not long-running, as
// kube-apiserver's --request-timeout does: the request's context ends
// after max, or after the request's timeout parameter when that is
// shorter, and a handler still running then is answered for with 504
// Timeout ("Timeout: request did not complete within the allotted
// timeout") while whatever it writes later is dropped. Watches, pod logs,
// exec, attach, port-forward and proxy requests are long-running and
// unbounded here (a watch has its own timeoutSeconds), as are requests
// for longRunningPaths (the election service's waiting calls). max <= 0
// bounds nothing.
func WithRequestTimeout(next http.Handler, max time.Duration, longRunningPaths ...string) http.Handler {
	if max <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLongRunning(r) || slices.Contains(longRunningPaths, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		timeout, err := requestTimeout(r, max)
		if err != nil {
			writeError(w, r, apierrors.NewBadRequest(err.Error()))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		serveWithin(ctx, w, r.WithContext(ctx), next)
	})
}

// isLongRunning tells requests that stream for as long as the client
// wants from the ones the request timeout bounds.
func isLongRunning(r *http.Request) bool {
	info, ok := parseRequestInfo(r)
	if !ok {
		return false
	}
	if info.Verb == "watch" {
		return true
	}
	switch sub := info.Subresource; {
	case sub == "proxy", strings.HasPrefix(sub, "proxy/"):
		return true
	case sub == "log", sub == "exec", sub == "attach", sub == "portforward":
		return true
	}
	return false
}

// requestTimeout is max, or the request's timeout parameter when it is
// positive and shorter, as Kubernetes reads it.
func requestTimeout(r *http.Request, max time.Duration) (time.Duration, error) {
	value := r.URL.Query().Get("timeout")
	if value == "" {
		return max, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("invalid timeout specified in the request URL - %w", err)
	}
	if d > 0 && d < max {
		return d, nil
	}
	return max, nil
}

// serveWithin runs next in its own goroutine and answers 504 when ctx
// ends first. A panic in next is raised again here, where the server
// handles it as before.
func serveWithin(ctx context.Context, w http.ResponseWriter, r *http.Request, next http.Handler) {
	tw := &timeoutWriter{w: w, header: w.Header().Clone()}
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		next.ServeHTTP(tw, r)
	}()
	select {
	case p := <-done:
		if p != nil {
			panic(p)
		}
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			tw.abandon() // the client went away: nobody to answer
			return
		}
		if !tw.timeout(r) {
			// The handler had begun its answer (often its own 504, as
			// its calls end with the same context): let it finish
			// rather than cut the connection under it.
			if p := <-done; p != nil {
				panic(p)
			}
			return
		}
		go logLateResult(r, done)
	}
}

// logLateResult waits for a handler that was answered for and logs what
// it did.
func logLateResult(r *http.Request, done <-chan any) {
	timedOutAt := time.Now()
	p := <-done
	slog.WarnContext(r.Context(), "request finished after its timeout was answered",
		"method", r.Method, "path", r.URL.Path, "late", time.Since(timedOutAt), "panic", p)
}

// timeoutWriter hands the handler its own header map and drops its
// writes once the timeout was answered.
type timeoutWriter struct {
	w      http.ResponseWriter
	header http.Header

	mu          sync.Mutex
	timedOut    bool
	wroteHeader bool
}

func (tw *timeoutWriter) Header() http.Header {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return http.Header{}
	}
	return tw.header
}

func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.writeHeaderLocked(code)
}

func (tw *timeoutWriter) writeHeaderLocked(code int) {
	if tw.timedOut || tw.wroteHeader {
		return
	}
	tw.wroteHeader = true
	dst := tw.w.Header()
	for k, v := range tw.header {
		dst[k] = v
	}
	tw.w.WriteHeader(code)
}

func (tw *timeoutWriter) Write(p []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return 0, http.ErrHandlerTimeout
	}
	tw.writeHeaderLocked(http.StatusOK)
	return tw.w.Write(p)
}

func (tw *timeoutWriter) Flush() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return
	}
	if f, ok := tw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// abandon drops whatever the handler writes from now on.
func (tw *timeoutWriter) abandon() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.timedOut = true
}

// timeout answers 504 and drops the handler's later writes, unless the
// handler had begun its answer: a half-written answer cannot turn into a
// Status, so timeout reports false and the handler's answer stands. The
// handlers the timeout bounds write their answer at once when they have
// it, so finishing it takes no longer than writing it.
func (tw *timeoutWriter) timeout(r *http.Request) bool {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.wroteHeader {
		return false
	}
	tw.timedOut = true
	writeStatus(tw.w, r, apierrors.NewTimeout(apierrors.MessageRequestTimeout).Status)
	return true
}
