package kubernetesservice

import (
	"context"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// LeasesPrefix is where the apiservers keep their addresses, as
// kube-apiserver's lease endpoint reconciler (its default
// --endpoint-reconciler-type=lease) keeps them: one key per address.
const LeasesPrefix = "/registry/masterleases/"

// LeaseTTL is how long an address stays listed after its apiserver last
// renewed it (kube-apiserver's 15s); apiservers renew at every
// reconcile, more often than that.
const LeaseTTL = 15 * time.Second

// Leases keeps each apiserver's address under an etcd lease that runs
// out unless renewed, so that the endpoints list only apiservers that
// run: one that went away (a pod replaced in a rollout, a machine lost)
// drops out within LeaseTTL.
type Leases struct {
	Client *clientv3.Client
	// TTL is LeaseTTL when zero.
	TTL time.Duration
}

func (l *Leases) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return LeaseTTL
}

// Renew lists ip for another TTL.
func (l *Leases) Renew(ctx context.Context, ip string) error {
	lease, err := l.Client.Grant(ctx, int64((l.ttl()+time.Second-1)/time.Second))
	if err != nil {
		return err
	}
	_, err = l.Client.Put(ctx, LeasesPrefix+ip, ip, clientv3.WithLease(lease.ID))
	return err
}

// Remove takes ip off at once, as a stopping apiserver does.
func (l *Leases) Remove(ctx context.Context, ip string) error {
	_, err := l.Client.Delete(ctx, LeasesPrefix+ip)
	return err
}

// Live returns the addresses whose leases have not run out, sorted.
func (l *Leases) Live(ctx context.Context) ([]string, error) {
	resp, err := l.Client.Get(ctx, LeasesPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, strings.TrimPrefix(string(kv.Key), LeasesPrefix))
	}
	slices.Sort(out)
	return out, nil
}
