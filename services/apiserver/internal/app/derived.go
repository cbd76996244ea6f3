package app

import (
	"sync"

	"skiff.dev/services/apiserver/internal/catalog"
)

// derived is something built from the served set (discovery documents,
// OpenAPI): built again, at its next use, after the set has changed.
type derived[T any] struct {
	catalog *catalog.Catalog
	build   func(*catalog.Snapshot) T

	mu    sync.Mutex
	gen   uint64
	value T
	built bool
}

func newDerived[T any](c *catalog.Catalog, build func(*catalog.Snapshot) T) *derived[T] {
	return &derived[T]{catalog: c, build: build}
}

// get is the value for the current set.
func (d *derived[T]) get() T {
	snap := d.catalog.Snapshot()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.built || d.gen != snap.Generation {
		d.value, d.gen, d.built = d.build(snap), snap.Generation, true
	}
	return d.value
}
