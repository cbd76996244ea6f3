package allocator

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"skiff.dev/services/apiserver/internal/storage"
)

// record is the value of a range's key: which range the bitmap covers,
// and the bitmap.
type record struct {
	Range  string `json:"range"`
	Bitmap []byte `json:"bitmap"`
}

// store keeps one bitmap in one etcd key and changes it by compare-and-swap.
type store struct {
	// client bounds and classifies every etcd call (storage.Bounded).
	client storage.KV
	key    string
	spec   string // the range, as the flag spelled it
	size   int

	mu sync.Mutex // serializes this server's changes; others meet the CAS
	// rev and bm are the last version seen: a change tries it first and
	// reads the key only when another server got there before.
	rev int64
	bm  *Bitmap
}

// update applies change to the current bitmap and stores the result if the
// key has not moved meanwhile, retrying on races. A change that returns an
// error stores nothing.
func (s *store) update(ctx context.Context, change func(*Bitmap) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bm == nil {
		if err := s.refresh(ctx); err != nil {
			return err
		}
	}
	for {
		next := &Bitmap{words: append([]uint64(nil), s.bm.words...), size: s.size}
		if err := change(next); err != nil {
			return err
		}
		value, err := json.Marshal(record{Range: s.spec, Bitmap: next.marshal()})
		if err != nil {
			return err
		}
		cmp := clientv3.Compare(clientv3.ModRevision(s.key), "=", s.rev)
		resp, err := s.client.Txn(ctx).If(cmp).
			Then(clientv3.OpPut(s.key, string(value))).
			Else(clientv3.OpGet(s.key)).Commit()
		if err != nil {
			s.bm = nil
			return fmt.Errorf("write %s: %w", s.key, err)
		}
		if resp.Succeeded {
			s.rev, s.bm = resp.Header.Revision, next
			return nil
		}
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if err := s.load(kvs); err != nil {
			return err
		}
	}
}

// snapshot is the bitmap as etcd holds it now.
func (s *store) snapshot(ctx context.Context) (*Bitmap, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	return &Bitmap{words: append([]uint64(nil), s.bm.words...), size: s.size}, nil
}

func (s *store) refresh(ctx context.Context) error {
	resp, err := s.client.Get(ctx, s.key)
	if err != nil {
		s.bm = nil
		return fmt.Errorf("read %s: %w", s.key, err)
	}
	return s.load(resp.Kvs)
}

// load takes the key's value (none when it does not exist yet). A bitmap
// of another range (the flag changed) is dropped: the repair loop marks
// again what the Services use.
func (s *store) load(kvs []*mvccpb.KeyValue) error {
	if len(kvs) == 0 {
		s.rev, s.bm = 0, NewBitmap(s.size)
		return nil
	}
	kv := kvs[0]
	s.rev = kv.ModRevision
	var r record
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return fmt.Errorf("decode %s: %w", s.key, err)
	}
	if r.Range != s.spec {
		slog.Warn("allocation range changed; starting from an empty bitmap", "key", s.key, "stored", r.Range, "configured", s.spec)
		s.bm = NewBitmap(s.size)
		return nil
	}
	bm, err := unmarshalBitmap(r.Bitmap, s.size)
	if err != nil {
		return fmt.Errorf("decode %s: %w", s.key, err)
	}
	s.bm = bm
	return nil
}
