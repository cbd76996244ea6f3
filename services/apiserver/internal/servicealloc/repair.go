package servicealloc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/allocator"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// Repairer makes the allocators hold exactly what the stored Services use:
// values lost by a crash between allocating and storing are freed, values
// of Services whose allocation was lost are marked again.
type Repairer struct {
	Services registry.Backend
	IPs      *allocator.IPs
	Ports    *allocator.Ports
	// Grace is how long a value must stay unused before it is freed, so
	// that a create in flight keeps what it allocated.
	Grace time.Duration
	Now   func() time.Time

	ipLeaks, portLeaks allocator.Leaks
}

// RunOnce lists the Services and repairs both allocators.
func (r *Repairer) RunOnce(ctx context.Context) error {
	if r.ipLeaks == nil {
		r.ipLeaks, r.portLeaks = allocator.Leaks{}, allocator.Leaks{}
	}
	list, err := r.Services.List(ctx, "", registry.ListOptions{})
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	var ips []net.IP
	var ports []int
	ipOwner, portOwner := map[string]string{}, map[int]string{}
	for _, item := range object.Items(list) {
		svc, ok := item.(*corev1.Service)
		if !ok {
			continue
		}
		name := svc.GetMetadata().GetNamespace() + "/" + svc.GetMetadata().GetName()
		if ip := clusterIP(svc); ip != nil {
			if other, dup := ipOwner[ip.String()]; dup {
				slog.ErrorContext(ctx, "two services have the same cluster IP", "ip", ip, "service", name, "other", other)
			}
			ipOwner[ip.String()] = name
			if !r.IPs.Contains(ip) {
				slog.WarnContext(ctx, "service has a cluster IP outside the range", "service", name, "ip", ip, "range", r.IPs.CIDR())
			}
			ips = append(ips, ip)
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
	markedIPs, freedIPs, err := r.IPs.Repair(ctx, ips, r.ipLeaks, now, r.Grace)
	if err != nil {
		return fmt.Errorf("repair cluster IPs: %w", err)
	}
	markedPorts, freedPorts, err := r.Ports.Repair(ctx, ports, r.portLeaks, now, r.Grace)
	if err != nil {
		return fmt.Errorf("repair node ports: %w", err)
	}
	if len(markedIPs)+len(freedIPs)+len(markedPorts)+len(freedPorts) > 0 {
		slog.InfoContext(ctx, "repaired service allocations", "markedIPs", markedIPs, "freedIPs", freedIPs,
			"markedPorts", markedPorts, "freedPorts", freedPorts)
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
