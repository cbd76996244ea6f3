package controller

import (
	"sync"
	"time"
)

// Expectations remember the creates and deletes a controller asked for and
// has not yet seen in its informer, so it does not act twice on a stale
// cache: a controller whose expectations are not met only updates status.
// Expectations that stay unmet for a long time (a lost event) expire.
type Expectations struct {
	mu sync.Mutex
	m  map[string]*expected
}

type expected struct {
	adds    int
	deletes map[string]struct{}
	at      time.Time
}

// ExpectationsTimeout is how long unmet expectations hold.
const ExpectationsTimeout = 5 * time.Minute

// NewExpectations starts with none.
func NewExpectations() *Expectations { return &Expectations{m: map[string]*expected{}} }

// ExpectCreates records that key is about to create n objects.
func (e *Expectations) ExpectCreates(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expected{adds: n, deletes: map[string]struct{}{}, at: time.Now()}
}

// ExpectDeletes records that key is about to delete the objects named.
func (e *Expectations) ExpectDeletes(key string, names []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expected{deletes: make(map[string]struct{}, len(names)), at: time.Now()}
	for _, n := range names {
		x.deletes[n] = struct{}{}
	}
	e.m[key] = x
}

// Expect records that key is about to create n objects and delete the
// objects named, at once (a DaemonSet does both in one pass).
func (e *Expectations) Expect(key string, n int, names []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expected{adds: n, deletes: make(map[string]struct{}, len(names)), at: time.Now()}
	for _, name := range names {
		x.deletes[name] = struct{}{}
	}
	e.m[key] = x
}

// CreationObserved counts one create as seen (or as never going to be).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// DeletionObserved marks the deletion of name as seen (or as never going
// to be).
func (e *Expectations) DeletionObserved(key, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletes, name)
	}
}

// Satisfied reports whether everything expected for key was seen, or
// expired.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	return !ok || (x.adds <= 0 && len(x.deletes) == 0) || time.Since(x.at) > ExpectationsTimeout
}

// Forget drops what was expected for key.
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
