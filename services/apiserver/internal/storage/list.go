package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// ListOptions select and page a list. The resourceVersion semantics are
// Kubernetes' (validated by the caller):
//
//   - ResourceVersion "": the latest state, read from etcd (a quorum read).
//   - "0": any state; the watch cache's, whole when Limit is unset.
//   - "N" with ResourceVersionMatch "Exact", or "N" with Limit and no
//     match: the state at revision N, from etcd (410 once compacted).
//   - "N" otherwise (NotOlderThan): a state not older than N; the watch
//     cache's once it has reached N, waiting at most ResourceVersionWait.
//   - Continue: the next page, at the revision of the first.
type ListOptions struct {
	ResourceVersion      string
	ResourceVersionMatch string
	Limit                int64
	Continue             string
	Predicate            func(proto.Message) bool
}

// Kubernetes' resourceVersionMatch values.
const (
	MatchExact        = "Exact"
	MatchNotOlderThan = "NotOlderThan"
)

// ListResult is one page of a list.
type ListResult struct {
	Items              []proto.Message
	ResourceVersion    int64
	Continue           string
	RemainingItemCount *int64
}

// continueToken is the opaque state of a paged list: the revision every
// page reads at and the key the next page starts from.
type continueToken struct {
	Revision int64  `json:"rv"`
	Start    string `json:"start"`
}

// Kubernetes' messages for a list whose revision etcd has compacted.
const (
	tooOldList           = "The resourceVersion for the provided list is too old."
	inconsistentContinue = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."
)

// latestRevision in a continue token goes on at the latest revision: the
// token an expired one is traded for.
const latestRevision = -1

func encodeContinue(rev int64, start string) string {
	data, _ := json.Marshal(continueToken{Revision: rev, Start: start})
	return base64.RawURLEncoding.EncodeToString(data)
}

func (s *Store) decodeContinue(token, prefix string) (continueToken, error) {
	var ct continueToken
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(data, &ct)
	}
	if err != nil || (ct.Revision <= 0 && ct.Revision != latestRevision) || !strings.HasPrefix(ct.Start, prefix) {
		return ct, badRequest("invalid continue token: continue key is not valid: the token was not issued for this list")
	}
	if ct.Revision == latestRevision {
		ct.Revision = 0
	}
	return ct, nil
}

// List reads the objects of a namespace (or all) page by page.
func (s *Store) List(ctx context.Context, ns string, opts ListOptions) (*ListResult, error) {
	prefix := s.scopePrefix(ns)
	if opts.Continue != "" {
		ct, err := s.decodeContinue(opts.Continue, prefix)
		if err != nil {
			return nil, err
		}
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return nil, badRequest("specifying resource version is not allowed when using continue")
		}
		return s.listRange(ctx, prefix, ct.Start, ct.Revision, opts)
	}
	rev, err := parseRevision(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.ResourceVersionMatch == MatchExact, rev > 0 && opts.Limit > 0 && opts.ResourceVersionMatch == "":
		return s.listRange(ctx, prefix, prefix, rev, opts)
	case opts.ResourceVersion == "0" && opts.Limit == 0:
		return s.cache.list(prefix, opts.Predicate), nil
	case rev > 0:
		return s.listNotOlderThan(ctx, prefix, rev, opts)
	}
	return s.listRange(ctx, prefix, prefix, 0, opts)
}

// listNotOlderThan waits until the watch cache has reached rev and serves
// the list from it, or, paged, from etcd's latest revision, which is not
// older than the cache's.
func (s *Store) listNotOlderThan(ctx context.Context, prefix string, rev int64, opts ListOptions) (*ListResult, error) {
	c := s.cache
	c.mu.Lock()
	if err := c.waitFresh(ctx, rev); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	if opts.Limit == 0 {
		defer c.mu.Unlock()
		return c.listLocked(prefix, opts.Predicate), nil
	}
	c.mu.Unlock()
	return s.listRange(ctx, prefix, prefix, 0, opts)
}

// listErr classifies a failed etcd read at rev: compacted (410, with a
// token that goes on at the latest revision for a continued list) or
// not reached yet (504).
func (s *Store) listErr(ctx context.Context, err error, start string, rev int64, opts ListOptions) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted) && opts.Continue != "":
		return &Error{Code: CodeExpired, Message: inconsistentContinue, Continue: encodeContinue(latestRevision, start)}
	case errors.Is(err, rpctypes.ErrCompacted):
		return &Error{Code: CodeExpired, Message: tooOldList}
	case errors.Is(err, rpctypes.ErrFutureRev):
		current, _ := s.CurrentRevision(ctx) // 0 when unknown
		return tooLarge(rev, current, 0)
	}
	return fmt.Errorf("list %s: %w", start, err)
}

func (s *Store) listRange(ctx context.Context, prefix, start string, rev int64, opts ListOptions) (*ListResult, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	res := &ListResult{}
	for {
		getOpts := []clientv3.OpOption{clientv3.WithRange(end)}
		if rev > 0 {
			getOpts = append(getOpts, clientv3.WithRev(rev))
		}
		if opts.Limit > 0 {
			getOpts = append(getOpts, clientv3.WithLimit(opts.Limit-int64(len(res.Items))+1))
		}
		resp, err := s.kv.Get(ctx, start, getOpts...)
		if err != nil {
			return nil, s.listErr(ctx, err, start, rev, opts)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		res.ResourceVersion = rev
		for i, kv := range resp.Kvs {
			if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
				// One more item exists: hand out a token for the rest.
				res.Continue = encodeContinue(rev, string(kv.Key))
				remaining := resp.Count - int64(i)
				if opts.Predicate == nil {
					res.RemainingItemCount = &remaining
				}
				return res, nil
			}
			obj, err := s.decode(ctx, string(kv.Key), kv.Value, kv.ModRevision)
			if err != nil {
				return nil, err
			}
			if opts.Predicate == nil || opts.Predicate(obj) {
				res.Items = append(res.Items, obj)
			}
		}
		if !resp.More || opts.Limit == 0 || len(resp.Kvs) == 0 {
			return res, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
