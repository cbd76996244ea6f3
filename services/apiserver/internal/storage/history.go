package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
)

// A watch cache that starts fills its window with the changes etcd still
// holds from before its first list, not only with the changes after it.
// Several apiservers share one etcd: a client whose apiserver went away
// resumes its watches on another one from the revision the first one
// served it, and that revision is older than the start of an apiserver
// that was itself restarted meanwhile (a rolling upgrade restarts them
// all). Without the history, every such watch would get 410 Expired and
// relist: the relist storm clients moving between apiservers must not
// cause.
const (
	// startHistory is how many etcd revisions (of every resource) before
	// its first list a starting cache reads back, at most; never past
	// etcd's compaction.
	startHistory = 10000
	// startHistoryTimeout bounds the read, so that a slow etcd delays no
	// start: the cache then begins at its list, as without history.
	startHistoryTimeout = 10 * time.Second
	// historyProgressRetry is how often the read asks etcd whether it has
	// caught up: etcd answers only once its watch has.
	historyProgressRetry = 20 * time.Millisecond
)

// errCompacted says the history asked for is compacted; rev is where it
// begins now.
type errCompacted struct{ rev int64 }

func (e errCompacted) Error() string { return fmt.Sprintf("compacted at revision %d", e.rev) }

// backfill puts the changes of this resource between at most
// startHistory revisions before rev and rev, the revision of the first
// list, into the still empty ring.
func (c *cache) backfill(ctx context.Context, rev int64) {
	ctx, cancel := context.WithTimeout(ctx, startHistoryTimeout)
	defer cancel()
	from := max(rev-startHistory, 0)
	changes, err := c.history(ctx, from, rev)
	var compacted errCompacted
	if errors.As(err, &compacted) && compacted.rev < rev {
		from = compacted.rev
		changes, err = c.history(ctx, from, rev)
	}
	if err != nil {
		slog.InfoContext(ctx, "watch cache starts without history", "prefix", c.store.prefix, "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if over := len(changes) - c.store.cfg.WatchCacheSize; over > 0 {
		from = changes[over-1].rev
		changes = changes[over:]
	}
	c.ring = append(changes, c.ring...)
	c.oldest = from
}

// history reads this resource's changes after from up to and including
// to from etcd's history, oldest first.
func (c *cache) history(ctx context.Context, from, to int64) ([]change, error) {
	if from >= to {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A watch stream of its own: etcd answers RequestProgress on a stream
	// only once every watch on it has caught up, so on one shared with
	// the other resources' history reads a long backlog of one would hold
	// back them all. etcd's client keys streams by outgoing metadata.
	ctx = metadata.AppendToOutgoingContext(ctx, "skiff-history", c.store.prefix)
	cli := c.store.cfg.Client
	wch := cli.Watch(ctx, c.store.prefix, clientv3.WithPrefix(), clientv3.WithRev(from+1), clientv3.WithPrevKV())
	ask := time.NewTicker(historyProgressRetry)
	defer ask.Stop()
	var out []change
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ask.C:
			_ = cli.RequestProgress(ctx) // unanswered until the watch caught up; asked again
		case resp, ok := <-wch:
			switch {
			case !ok:
				return nil, errors.New("history watch closed")
			case resp.CompactRevision > 0:
				return nil, errCompacted{rev: resp.CompactRevision}
			case resp.Err() != nil:
				return nil, resp.Err()
			}
			for _, ev := range resp.Events {
				if ev.Kv.ModRevision > to {
					return out, nil
				}
				ch, err := c.historyChange(ctx, ev)
				if err != nil {
					return nil, err
				}
				out = append(out, ch)
			}
			if resp.IsProgressNotify() && resp.Header.Revision >= to {
				return out, nil
			}
		}
	}
}

// historyChange is a change of etcd's history: the object after it and
// before it, both from the event (the cache's current state is later).
func (c *cache) historyChange(ctx context.Context, ev *clientv3.Event) (change, error) {
	key := string(ev.Kv.Key)
	ch := change{key: key, rev: ev.Kv.ModRevision}
	if ev.Type == mvccpb.PUT {
		obj, err := c.store.decode(ctx, key, ev.Kv.Value, ev.Kv.ModRevision)
		if err != nil {
			return ch, err
		}
		ch.obj = obj
	}
	if ev.PrevKv != nil {
		prev, err := c.store.decode(ctx, key, ev.PrevKv.Value, ev.Kv.ModRevision)
		if err != nil {
			return ch, err
		}
		ch.prev = prev
	}
	return ch, nil
}
