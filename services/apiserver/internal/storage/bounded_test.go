package storage

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
)

func TestClassify(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithTimeout(live, 0)
	defer cancel()
	<-ended.Done()
	tests := []struct {
		name        string
		parent      context.Context
		err         error
		unavailable bool
		timeout     bool
		deadline    bool // errors.Is(err, context.DeadlineExceeded)
		same        bool // passed through unchanged
	}{
		{"no leader", live, rpctypes.ErrNoLeader, true, false, false, false},
		{"leader changed (gRPC form)", live, rpctypes.ErrGRPCLeaderChanged, true, false, false, false},
		{"etcd's own request timeout", live, rpctypes.ErrTimeout, true, false, false, false},
		{"connection lost", live, status.Error(codes.Unavailable, "error reading from server: EOF"), true, false, false, false},
		{"the call's deadline", live, context.DeadlineExceeded, false, true, true, false},
		{"a server-side deadline", live, status.Error(codes.DeadlineExceeded, "context deadline exceeded"), false, true, false, false},
		{"the request's own deadline", ended, status.Error(codes.Unavailable, "EOF"), false, false, true, false},
		{"compacted passes unchanged", live, rpctypes.ErrCompacted, false, false, false, true},
		{"future revision passes unchanged", live, rpctypes.ErrFutureRev, false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.parent, "/registry/k", tt.err)
			if IsUnavailable(got) != tt.unavailable || IsTimeout(got) != tt.timeout {
				t.Errorf("classify(%v) = %v: unavailable %v timeout %v, want %v %v", tt.err, got, IsUnavailable(got), IsTimeout(got), tt.unavailable, tt.timeout)
			}
			if errors.Is(got, context.DeadlineExceeded) != tt.deadline && !tt.timeout {
				t.Errorf("classify(%v) = %v: errors.Is DeadlineExceeded = %v, want %v", tt.err, got, !tt.deadline, tt.deadline)
			}
			if tt.same && !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) = %v, want it unchanged", tt.err, got)
			}
		})
	}
}

// TestCallsToUnreachableEtcdAreBounded: with no etcd behind the endpoint,
// each store operation gives up within its deadline with a classified
// error instead of waiting for the caller's.
func TestCallsToUnreachableEtcdAreBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	const opTimeout = 300 * time.Millisecond
	s := New(Config{Client: c, Group: "test", Resource: "things", Namespaced: true, OpTimeout: opTimeout,
		NewFunc: func() proto.Message { return &metav1.PartialObjectMetadata{} }, Codec: protoCodec{}})
	ops := map[string]func(context.Context) error{
		"create": func(ctx context.Context) error { _, err := s.Create(ctx, obj("a", "x")); return err },
		"get":    func(ctx context.Context) error { _, err := s.Get(ctx, "a", "x"); return err },
		"list":   func(ctx context.Context) error { _, err := s.List(ctx, "a", ListOptions{}); return err },
		"delete": func(ctx context.Context) error { _, err := s.Delete(ctx, "a", "x", nil); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			// The caller's deadline is far away: the store's own bounds it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			err := op(ctx)
			took := time.Since(start)
			if !IsTimeout(err) && !IsUnavailable(err) {
				t.Fatalf("got %v, want a Timeout or Unavailable storage error", err)
			}
			// A correctness bound (the call was cut at its deadline), far
			// below the caller's minute.
			if took > opTimeout+10*time.Second {
				t.Errorf("took %s, want about the operation timeout %s", took, opTimeout)
			}
		})
	}
}

// failingKV answers every transaction with err.
type failingKV struct {
	clientv3.KV
	err error
}

func (f failingKV) Txn(context.Context) clientv3.Txn { return failingTxn(f) }

type failingTxn failingKV

func (f failingTxn) If(...clientv3.Cmp) clientv3.Txn        { return f }
func (f failingTxn) Then(...clientv3.Op) clientv3.Txn       { return f }
func (f failingTxn) Else(...clientv3.Op) clientv3.Txn       { return f }
func (f failingTxn) Commit() (*clientv3.TxnResponse, error) { return nil, f.err }

// TestWriteOutcomeUnknown: a write transaction that failed in a way etcd
// may still commit (timed out, leader changed, connection lost) is marked
// MayHaveApplied, so the client is not asked to send it again; one etcd
// refused before proposing (no leader), and any read, is not.
func TestWriteOutcomeUnknown(t *testing.T) {
	put := clientv3.OpPut("/registry/k", "v")
	get := clientv3.OpGet("/registry/k")
	for _, tt := range []struct {
		name string
		err  error
		op   clientv3.Op
		want bool
	}{
		{"write, request timed out", rpctypes.ErrGRPCTimeout, put, true},
		{"write, leader changed", rpctypes.ErrGRPCLeaderChanged, put, true},
		{"write, connection lost", status.Error(codes.Unavailable, "error reading from server: EOF"), put, true},
		{"write, the call's deadline", context.DeadlineExceeded, put, true},
		{"write, no leader", rpctypes.ErrGRPCNoLeader, put, false},
		{"read, request timed out", rpctypes.ErrGRPCTimeout, get, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := boundedKV{kv: failingKV{err: tt.err}, timeout: time.Second}
			_, err := b.Txn(context.Background()).If(clientv3.Compare(clientv3.ModRevision("/registry/k"), "=", 0)).Then(tt.op).Commit()
			if !IsUnavailable(err) && !IsTimeout(err) {
				t.Fatalf("got %v, want a classified error", err)
			}
			if got := MayHaveApplied(err); got != tt.want {
				t.Errorf("MayHaveApplied(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
