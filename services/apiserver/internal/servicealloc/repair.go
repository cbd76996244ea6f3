package servicealloc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	corev1 "skiff.dev/api/core/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/allocator"
	"skiff.dev/services/apiserver/internal/ipalloc"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// Repairer makes the allocations match what the stored Services use:
// values lost by a crash between allocating and storing are freed, values
// of Services whose allocation was lost are taken again. Cluster IPs are
// IPAddress objects: a Service's address without one gets it, and an
// IPAddress of the allocator's whose Service does not hold that address
// is deleted once the grace window has passed.
type Repairer struct {
	Services    registry.Backend
	IPAddresses registry.Backend
	IPs         *ipalloc.Allocator
	Ports       *allocator.Ports
	// Grace is how long a value must stay unused before it is freed, so
	// that a create in flight keeps what it allocated.
	Grace time.Duration
	Now   func() time.Time

	portLeaks allocator.Leaks
	ipLeaks   map[string]time.Time // by IPAddress uid: unused since
}

// RunOnce lists the Services and repairs both allocations.
func (r *Repairer) RunOnce(ctx context.Context) error {
	if r.portLeaks == nil {
		r.portLeaks, r.ipLeaks = allocator.Leaks{}, map[string]time.Time{}
	}
	list, err := r.Services.List(ctx, "", registry.ListOptions{})
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	var ports []int
	ipOwner, portOwner := map[netip.Addr]ipalloc.Owner{}, map[int]string{}
	for _, item := range object.Items(list) {
		svc, ok := item.(*corev1.Service)
		if !ok {
			continue
		}
		owner := ownerOf(svc)
		name := owner.Namespace + "/" + owner.Name
		if ip := clusterIP(svc); ip.IsValid() {
			if other, dup := ipOwner[ip]; dup {
				slog.ErrorContext(ctx, "two services have the same cluster IP", "ip", ip, "service", name, "other", other.Namespace+"/"+other.Name)
			} else {
				ipOwner[ip] = owner
			}
		}
		for _, p := range nodePorts(svc) {
			if other, dup := portOwner[p]; dup {
				slog.ErrorContext(ctx, "two services have the same node port", "port", p, "service", name, "other", other)
			}
			portOwner[p] = name
			ports = append(ports, p)
		}
	}
	now := r.now()
	if err := r.repairIPs(ctx, ipOwner, now); err != nil {
		return fmt.Errorf("repair cluster IPs: %w", err)
	}
	markedPorts, freedPorts, err := r.Ports.Repair(ctx, ports, r.portLeaks, now, r.Grace)
	if err != nil {
		return fmt.Errorf("repair node ports: %w", err)
	}
	if len(markedPorts)+len(freedPorts) > 0 {
		slog.InfoContext(ctx, "repaired node port allocations", "markedPorts", markedPorts, "freedPorts", freedPorts)
	}
	return nil
}

// repairIPs gives every Service address its IPAddress and deletes the
// allocator's IPAddresses no Service holds, after the grace window.
func (r *Repairer) repairIPs(ctx context.Context, owners map[netip.Addr]ipalloc.Owner, now time.Time) error {
	list, err := r.IPAddresses.List(ctx, "", registry.ListOptions{})
	if err != nil {
		return fmt.Errorf("list IPAddresses: %w", err)
	}
	held := map[netip.Addr]*networkingv1.IPAddress{}
	for _, item := range object.Items(list) {
		if a, ok := item.(*networkingv1.IPAddress); ok {
			if ip, err := netip.ParseAddr(a.GetMetadata().GetName()); err == nil {
				held[ip] = a
			}
		}
	}
	for ip, owner := range owners {
		if !r.IPs.Contains(ip) {
			slog.WarnContext(ctx, "service has a cluster IP outside every ServiceCIDR", "service", owner.Namespace+"/"+owner.Name, "ip", ip, "ranges", r.IPs.Ranges())
		}
		if a, ok := held[ip]; ok {
			if !owner.Holds(a.GetSpec().GetParentRef()) {
				slog.ErrorContext(ctx, "a service's cluster IP is held by another object", "service", owner.Namespace+"/"+owner.Name, "ip", ip, "holder", a.GetSpec().GetParentRef())
			}
			continue
		}
		switch err := r.IPs.Mark(ctx, ip, owner); {
		case err == nil:
			slog.InfoContext(ctx, "repaired a cluster IP without its IPAddress", "service", owner.Namespace+"/"+owner.Name, "ip", ip)
		case !errors.Is(err, ipalloc.ErrAllocated):
			return err
		}
	}
	seen := map[string]bool{}
	for ip, a := range held {
		if a.GetMetadata().GetLabels()[ipalloc.LabelManagedBy] != ipalloc.ManagedBy {
			continue // not the allocator's: someone else's to manage
		}
		if owner, ok := owners[ip]; ok && owner.Holds(a.GetSpec().GetParentRef()) {
			continue
		}
		uid := a.GetMetadata().GetUid()
		seen[uid] = true
		since, ok := r.ipLeaks[uid]
		if !ok {
			r.ipLeaks[uid] = now
			continue
		}
		if now.Sub(since) < r.Grace {
			continue
		}
		if err := r.IPs.Free(ctx, a); err != nil {
			return err
		}
		slog.InfoContext(ctx, "freed a cluster IP no service holds", "ip", ip, "holder", a.GetSpec().GetParentRef())
	}
	for uid := range r.ipLeaks {
		if !seen[uid] {
			delete(r.ipLeaks, uid)
		}
	}
	return nil
}

// Run repairs now and then every interval until ctx ends.
func (r *Repairer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "repair service allocations", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Repairer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
