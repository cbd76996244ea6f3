package allocator

import (
	"context"
	"errors"
	"math/rand/v2"

	clientv3 "go.etcd.io/etcd/client/v3"

	"skiff.dev/services/apiserver/internal/storage"
)

// Errors of the allocators.
var (
	ErrAllocated  = errors.New("already allocated")
	ErrNotInRange = errors.New("not in the range")
	ErrFull       = errors.New("range is full")
)

// allocator hands out offsets of [0, size) kept in one etcd key.
type allocator struct {
	store *store
}

func newAllocator(client *clientv3.Client, key, spec string, size int) allocator {
	return allocator{store: &store{client: storage.Bounded(client, 0), key: key, spec: spec, size: size}}
}

func (a *allocator) allocate(ctx context.Context, off int) error {
	if off < 0 || off >= a.store.size {
		return ErrNotInRange
	}
	return a.store.update(ctx, func(b *Bitmap) error {
		if b.Has(off) {
			return ErrAllocated
		}
		b.Set(off)
		return nil
	})
}

func (a *allocator) allocateNext(ctx context.Context) (int, error) {
	var got int
	err := a.store.update(ctx, func(b *Bitmap) error {
		off, ok := b.FreeFrom(rand.IntN(b.Size()))
		if !ok {
			return ErrFull
		}
		b.Set(off)
		got = off
		return nil
	})
	return got, err
}

func (a *allocator) release(ctx context.Context, off int) error {
	if off < 0 || off >= a.store.size {
		return nil
	}
	return a.store.update(ctx, func(b *Bitmap) error {
		b.Clear(off)
		return nil
	})
}

// has reads the key, so it sees other servers' allocations.
func (a *allocator) has(ctx context.Context, off int) (bool, error) {
	b, err := a.store.snapshot(ctx)
	if err != nil {
		return false, err
	}
	return b.Has(off), nil
}
