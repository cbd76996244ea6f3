package allocator

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ServiceNodePortsKey is the etcd key of the node port range, where
// Kubernetes keeps it.
const ServiceNodePortsKey = "/registry/ranges/servicenodeports"

// Limits of a service IP range: at least 8 addresses, at most 2^20 (a
// /12, Kubernetes' limit for its bitmap).
const (
	MinIPRangeBits = 3
	MaxIPRangeBits = 20
)

// ParseCIDR reads an IPv4 service range (--service-cluster-ip-range) and
// checks its size.
func ParseCIDR(s string) (*net.IPNet, error) {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a CIDR (want an IPv4 range such as 10.96.0.0/12)", s)
	}
	if ip.To4() == nil {
		return nil, fmt.Errorf("%q is not an IPv4 range; only IPv4 service ranges are supported", s)
	}
	ones, total := n.Mask.Size()
	switch hostBits := total - ones; {
	case hostBits > MaxIPRangeBits:
		return nil, fmt.Errorf("%q is too large: the prefix must be /%d or longer", s, total-MaxIPRangeBits)
	case hostBits < MinIPRangeBits:
		return nil, fmt.Errorf("%q is too small: the prefix must be /%d or shorter", s, total-MinIPRangeBits)
	}
	return n, nil
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Base, Size int }

// ParsePortRange reads "30000-32767" (or a single port).
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		hi = lo
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return PortRange{}, fmt.Errorf("%q is not a port range (want first-last, such as 30000-32767, within 1-65535)", s)
	}
	return PortRange{Base: a, Size: b - a + 1}, nil
}

func (p PortRange) String() string { return fmt.Sprintf("%d-%d", p.Base, p.Base+p.Size-1) }

// Contains reports whether port is in the range.
func (p PortRange) Contains(port int) bool { return port >= p.Base && port < p.Base+p.Size }

// Ports allocates the ports of a range.
type Ports struct {
	allocator
	pr PortRange
}

// NewPorts is the allocator of pr, kept under key.
func NewPorts(client *clientv3.Client, key string, pr PortRange) *Ports {
	return &Ports{allocator: newAllocator(client, key, pr.String(), pr.Size), pr: pr}
}

// Range is the range.
func (p *Ports) Range() PortRange { return p.pr }

// Allocate takes port: ErrAllocated when it is taken, ErrNotInRange when
// outside the range.
func (p *Ports) Allocate(ctx context.Context, port int) error {
	if !p.pr.Contains(port) {
		return ErrNotInRange
	}
	return p.allocate(ctx, port-p.pr.Base)
}

// AllocateNext takes a free port at random.
func (p *Ports) AllocateNext(ctx context.Context) (int, error) {
	off, err := p.allocateNext(ctx)
	return off + p.pr.Base, err
}

// Release frees port; a port outside the range is ignored.
func (p *Ports) Release(ctx context.Context, port int) error {
	if !p.pr.Contains(port) {
		return nil
	}
	return p.release(ctx, port-p.pr.Base)
}

// Has reports whether port is allocated.
func (p *Ports) Has(ctx context.Context, port int) (bool, error) {
	if !p.pr.Contains(port) {
		return false, nil
	}
	return p.has(ctx, port-p.pr.Base)
}
