package allocator

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Keys of the ranges in etcd, where Kubernetes keeps them.
const (
	ServiceIPsKey       = "/registry/ranges/serviceips"
	ServiceNodePortsKey = "/registry/ranges/servicenodeports"
)

// Limits of a service IP range: at least 8 addresses, at most 2^20 (a
// /12, Kubernetes' limit for its bitmap).
const (
	MinIPRangeBits = 3
	MaxIPRangeBits = 20
)

// ParseCIDR reads an IPv4 service range and checks its size.
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

// IPs allocates the addresses of an IPv4 CIDR. Its network and broadcast
// addresses are never allocated; its first address (the kubernetes
// Service's) only when asked for by name.
type IPs struct {
	allocator
	cidr *net.IPNet
	base uint32
}

// NewIPs is the allocator of cidr, kept under key.
func NewIPs(client *clientv3.Client, key string, cidr *net.IPNet) *IPs {
	ones, total := cidr.Mask.Size()
	size := 1 << (total - ones)
	r := &IPs{allocator: newAllocator(client, key, cidr.String(), size), cidr: cidr,
		base: binary.BigEndian.Uint32(cidr.IP.To4())}
	r.valid = func(off int) bool { return off != 0 && off != size-1 }
	r.dynamicSkip = func(off int) bool { return off <= 1 || off == size-1 }
	return r
}

// CIDR is the range.
func (r *IPs) CIDR() *net.IPNet { return r.cidr }

// First is the first usable address, the kubernetes Service's.
func (r *IPs) First() net.IP { return r.ip(1) }

// Allocate takes ip: ErrAllocated when it is taken, ErrNotInRange when the
// range does not hold it.
func (r *IPs) Allocate(ctx context.Context, ip net.IP) error {
	off, ok := r.offset(ip)
	if !ok {
		return ErrNotInRange
	}
	return r.allocate(ctx, off)
}

// AllocateNext takes a free address at random.
func (r *IPs) AllocateNext(ctx context.Context) (net.IP, error) {
	off, err := r.allocateNext(ctx)
	if err != nil {
		return nil, err
	}
	return r.ip(off), nil
}

// Release frees ip; an address outside the range is ignored.
func (r *IPs) Release(ctx context.Context, ip net.IP) error {
	if off, ok := r.offset(ip); ok {
		return r.release(ctx, off)
	}
	return nil
}

// Has reports whether ip is allocated.
func (r *IPs) Has(ctx context.Context, ip net.IP) (bool, error) {
	off, ok := r.offset(ip)
	if !ok {
		return false, nil
	}
	return r.has(ctx, off)
}

// Contains reports whether ip is an allocatable address of the range.
func (r *IPs) Contains(ip net.IP) bool {
	off, ok := r.offset(ip)
	return ok && r.valid(off)
}

func (r *IPs) offset(ip net.IP) (int, bool) {
	v4 := ip.To4()
	if v4 == nil || !r.cidr.Contains(v4) {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(v4) - r.base), true
}

func (r *IPs) ip(off int) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, r.base+uint32(off))
	return ip
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
