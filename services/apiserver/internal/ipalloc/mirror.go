package ipalloc

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"google.golang.org/protobuf/proto"

	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// relistDelay is how long a failed list or a watch that ended waits
// before the kind is read again.
const relistDelay = time.Second

// Run mirrors the IPAddresses and ServiceCIDRs until ctx ends.
func (a *Allocator) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		mirror(ctx, a.cidrs, a.resetCIDRs, a.applyCIDR)
	}()
	mirror(ctx, a.ipAddresses, a.resetIPs, a.applyIP)
	<-done
}

// mirror lists b, hands the items to reset, then hands every watch event
// to apply; it lists again whenever the watch ends, until ctx does.
func mirror(ctx context.Context, b registry.Backend, reset func([]proto.Message), apply func(typ string, obj proto.Message)) {
	for ctx.Err() == nil {
		if err := mirrorOnce(ctx, b, reset, apply); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "cluster IP allocator: read again after an error", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(relistDelay):
		}
	}
}

func mirrorOnce(ctx context.Context, b registry.Backend, reset func([]proto.Message), apply func(typ string, obj proto.Message)) error {
	list, err := b.List(ctx, "", registry.ListOptions{})
	if err != nil {
		return err
	}
	reset(object.Items(list))
	w, err := b.Watch(ctx, "", registry.ListOptions{ResourceVersion: object.ListMeta(list).GetResourceVersion()})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		switch ev.Type {
		case registry.Added, registry.Modified, registry.Deleted:
			apply(ev.Type, ev.Object)
		case registry.Error:
			return nil // expired: list again
		}
	}
	return nil
}

func (a *Allocator) resetIPs(items []proto.Message) {
	used := map[netip.Addr]bool{}
	for _, it := range items {
		if ip, err := netip.ParseAddr(object.Meta(it).GetName()); err == nil {
			used[ip] = true
		}
	}
	a.mu.Lock()
	a.used = used
	a.ipsRead = true
	a.markSynced()
	a.mu.Unlock()
}

func (a *Allocator) applyIP(typ string, obj proto.Message) {
	ip, err := netip.ParseAddr(object.Meta(obj).GetName())
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if typ == registry.Deleted {
		delete(a.used, ip)
	} else {
		a.used[ip] = true
	}
}

func (a *Allocator) resetCIDRs(items []proto.Message) {
	ranges := map[string]cidrRange{}
	for _, it := range items {
		if sc, ok := it.(*networkingv1.ServiceCIDR); ok {
			ranges[sc.GetMetadata().GetName()] = rangeOf(sc)
		}
	}
	a.mu.Lock()
	a.ranges = ranges
	a.cidrRead = true
	a.markSynced()
	a.mu.Unlock()
}

func (a *Allocator) applyCIDR(typ string, obj proto.Message) {
	sc, ok := obj.(*networkingv1.ServiceCIDR)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if typ == registry.Deleted {
		delete(a.ranges, sc.GetMetadata().GetName())
	} else {
		a.ranges[sc.GetMetadata().GetName()] = rangeOf(sc)
	}
}

// markSynced closes synced once both kinds were read; a.mu is held.
func (a *Allocator) markSynced() {
	if a.ipsRead && a.cidrRead {
		select {
		case <-a.synced:
		default:
			close(a.synced)
		}
	}
}

// rangeOf is what a ServiceCIDR gives the allocator: its IPv4 prefixes,
// usable unless it is being deleted or its Ready condition is not True
// (a range no controller has looked at yet counts as ready, as in
// Kubernetes).
func rangeOf(sc *networkingv1.ServiceCIDR) cidrRange {
	var r cidrRange
	for _, c := range sc.GetSpec().GetCidrs() {
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
			r.prefixes = append(r.prefixes, p.Masked())
		}
	}
	r.usable = sc.GetMetadata().GetDeletionTimestamp() == nil && Ready(sc)
	return r
}

// Ready reports whether sc's Ready condition is True, or absent.
func Ready(sc *networkingv1.ServiceCIDR) bool {
	for _, c := range sc.GetStatus().GetConditions() {
		if c.GetType() == ConditionReady {
			return c.GetStatus() == "True"
		}
	}
	return true
}
