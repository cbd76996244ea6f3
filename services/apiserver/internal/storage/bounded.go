package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultOpTimeout bounds one etcd call when Config.OpTimeout is unset.
// A request's own deadline (the apiserver's request timeout) is usually
// shorter; this bound holds for callers without one and keeps a stuck
// call from outliving any request.
const DefaultOpTimeout = 30 * time.Second

// KV is the part of etcd's KV API a bounded client offers.
type KV interface {
	Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error)
	Txn(ctx context.Context) clientv3.Txn
}

// Bounded gives every call of kv a deadline of timeout (DefaultOpTimeout
// when zero) and classifies its failures as the stores' own calls are:
// for the apiserver's other etcd users, such as the IP and port
// allocators.
func Bounded(kv clientv3.KV, timeout time.Duration) KV {
	if timeout <= 0 {
		timeout = DefaultOpTimeout
	}
	return boundedKV{kv: kv, timeout: timeout}
}

// boundedKV is the part of etcd's KV API the store uses, with a deadline
// on every call and its failures classified: unreachable etcd or a lost
// leader is CodeUnavailable, a call out of time CodeTimeout. Other errors
// (a compacted or future revision) pass unchanged.
type boundedKV struct {
	kv      clientv3.KV
	timeout time.Duration
}

// Get is clientv3.KV.Get within the deadline.
func (b boundedKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	octx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	resp, err := b.kv.Get(octx, key, opts...)
	return resp, classify(ctx, key, err)
}

// Txn starts a transaction whose Commit runs within the deadline.
func (b boundedKV) Txn(ctx context.Context) clientv3.Txn {
	return &boundedTxn{b: b, ctx: ctx}
}

// boundedTxn collects a transaction and commits it within the deadline.
type boundedTxn struct {
	b                boundedKV
	ctx              context.Context
	cmps             []clientv3.Cmp
	thenOps, elseOps []clientv3.Op
}

func (t *boundedTxn) If(cs ...clientv3.Cmp) clientv3.Txn {
	t.cmps = append(t.cmps, cs...)
	return t
}

func (t *boundedTxn) Then(ops ...clientv3.Op) clientv3.Txn {
	t.thenOps = append(t.thenOps, ops...)
	return t
}

func (t *boundedTxn) Else(ops ...clientv3.Op) clientv3.Txn {
	t.elseOps = append(t.elseOps, ops...)
	return t
}

func (t *boundedTxn) Commit() (*clientv3.TxnResponse, error) {
	octx, cancel := context.WithTimeout(t.ctx, t.b.timeout)
	defer cancel()
	resp, err := t.b.kv.Txn(octx).If(t.cmps...).Then(t.thenOps...).Else(t.elseOps...).Commit()
	key := ""
	if len(t.cmps) > 0 {
		key = string(t.cmps[0].KeyBytes())
	}
	err = classify(t.ctx, key, err)
	var se *Error
	if errors.As(err, &se) && t.writes() && rpctypes.ErrorDesc(se.Err) != rpctypes.ErrNoLeader.Error() {
		// Only "no leader" is refused before etcd proposes the change;
		// after any other failure the write may yet be committed.
		se.MayHaveApplied = true
	}
	return resp, err
}

// writes tells whether the transaction puts or deletes anything.
func (t *boundedTxn) writes() bool {
	for _, op := range append(append([]clientv3.Op{}, t.thenOps...), t.elseOps...) {
		if op.IsPut() || op.IsDelete() || op.IsTxn() {
			return true
		}
	}
	return false
}

// classify turns the failure of an etcd call made under parent into a
// classified Error when etcd was unavailable or out of time. When parent
// itself ended (the request's deadline, a client gone) that is what the
// error says, so the caller reports its own timeout.
func classify(parent context.Context, key string, err error) error {
	if err == nil {
		return nil
	}
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("etcd call on %s: %w", key, errors.Join(perr, err))
	}
	switch etcdCode(err) {
	case codes.Unavailable:
		return &Error{Code: CodeUnavailable, Key: key, Message: fmt.Sprintf("etcd is unavailable for %s: %v", key, err), Err: err}
	case codes.DeadlineExceeded:
		return &Error{Code: CodeTimeout, Key: key, Message: fmt.Sprintf("etcd did not answer in time for %s: %v", key, err), Err: err}
	}
	return err
}

// etcdCode is the gRPC code an etcd call failed with: etcd's own errors
// carry one (no leader, leader changed, request timed out: Unavailable),
// as do transport failures; the call's deadline is DeadlineExceeded.
func etcdCode(err error) codes.Code {
	if errors.Is(err, context.DeadlineExceeded) {
		return codes.DeadlineExceeded
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code()
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return codes.Unknown
}
