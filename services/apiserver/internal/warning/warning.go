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

// Add records a warning if the context carries a Recorder. A text already
// recorded is skipped, as Kubernetes' recorder does, so a write that is
// retried (an update conflict, a generated-name clash) and reruns its
// strategy warns once.
func Add(ctx context.Context, msg string) {
	rec, ok := ctx.Value(key{}).(*Recorder)
	if !ok {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, w := range rec.warnings {
		if w == msg {
			return
		}
	}
	rec.warnings = append(rec.warnings, msg)
}

// Warnings returns what was recorded.
func (r *Recorder) Warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.warnings...)
}
