package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// ListOptions select and page a list.
type ListOptions struct {
	// ResourceVersion "" reads the latest state; "0" may be served from
	// the watch cache; "N" reads at exactly N when ResourceVersionMatch is
	// "Exact", otherwise the latest state (which is not older than N).
	ResourceVersion      string
	ResourceVersionMatch string
	Limit                int64
	Continue             string
	Predicate            func(proto.Message) bool
}

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

const tooOldContinue = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."

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
	if err != nil || ct.Revision <= 0 || !strings.HasPrefix(ct.Start, prefix) {
		return ct, &Error{Code: CodeExpired, Message: "continue key is not valid: the token was not issued for this list"}
	}
	return ct, nil
}

// List reads the objects of a namespace (or all) page by page.
func (s *Store) List(ctx context.Context, ns string, opts ListOptions) (*ListResult, error) {
	prefix := s.scopePrefix(ns)
	if opts.ResourceVersion == "0" && opts.Limit == 0 && opts.Continue == "" {
		return s.cache.list(prefix, opts.Predicate), nil
	}
	start, rev := prefix, int64(0)
	if opts.Continue != "" {
		ct, err := s.decodeContinue(opts.Continue, prefix)
		if err != nil {
			return nil, err
		}
		start, rev = ct.Start, ct.Revision
	} else if opts.ResourceVersionMatch == "Exact" && opts.ResourceVersion != "" {
		n, err := strconv.ParseInt(opts.ResourceVersion, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resourceVersion %q: %w", opts.ResourceVersion, err)
		}
		rev = n
	}
	return s.listRange(ctx, prefix, start, rev, opts)
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
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil, &Error{Code: CodeExpired, Message: tooOldContinue}
		}
		if errors.Is(err, rpctypes.ErrFutureRev) {
			return nil, &Error{Code: CodeTooLargeResourceVersion, Message: fmt.Sprintf("Too large resource version: %d", rev)}
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
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
