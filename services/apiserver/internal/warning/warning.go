// Package warning carries warnings from deep inside a request (a patch
// with unknown fields under fieldValidation=Warn) back to the HTTP face,
// which sends them as Warning headers, as Kubernetes does.
package warning

import (
	"context"
	"sync"
)

type key struct{}

// Recorder collects the warnings of one request.
type Recorder struct {
	mu       sync.Mutex
	warnings []string
}

// NewContext returns a context that records warnings into a new Recorder.
func NewContext(ctx context.Context) (context.Context, *Recorder) {
	rec := &Recorder{}
	return context.WithValue(ctx, key{}, rec), rec
}

// Add records a warning if the context carries a Recorder.
func Add(ctx context.Context, msg string) {
	if rec, ok := ctx.Value(key{}).(*Recorder); ok {
		rec.mu.Lock()
		rec.warnings = append(rec.warnings, msg)
		rec.mu.Unlock()
	}
}

// Warnings returns what was recorded.
func (r *Recorder) Warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.warnings...)
}
