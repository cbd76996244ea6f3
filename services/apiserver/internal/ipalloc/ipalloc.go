// Package ipalloc allocates Services' cluster IPs as Kubernetes does since
// 1.33: every allocated address is a networking.k8s.io/v1 IPAddress object
// named by the address, so creating that object is the allocation and etcd
// makes sure no two Services (nor two apiservers) get the same address.
// The ranges are the ServiceCIDR objects: the apiserver keeps the one
// named "kubernetes" equal to --service-cluster-ip-range (DefaultCIDR),
// and more can be added at run time to widen the ranges.
//
// The allocator mirrors both kinds in memory through a watch, to pick a
// free address without asking etcd about each candidate; the create of
// the IPAddress stays the only arbiter, so a stale mirror costs a retry,
// never a duplicate.
package ipalloc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// Labels the allocator puts on the IPAddresses it creates, as Kubernetes'
// allocator does; only addresses so labelled are ever freed by the repair.
const (
	LabelFamily    = "ipaddress.kubernetes.io/ip-family"
	LabelManagedBy = "ipaddress.kubernetes.io/managed-by"
	ManagedBy      = "ipallocator.k8s.io"
)

// DefaultCIDRName is the ServiceCIDR of --service-cluster-ip-range.
const DefaultCIDRName = "kubernetes"

// ConditionReady is the ServiceCIDR condition that says whether a range
// takes new allocations; ReasonTerminating is its reason while a deleted
// range still holds addresses.
const (
	ConditionReady    = "Ready"
	ReasonTerminating = "Terminating"
)

// Errors of the allocator.
var (
	ErrAllocated  = errors.New("provided IP is already allocated")
	ErrNotInRange = errors.New("not in any service CIDR")
	ErrFull       = errors.New("range is full")
)

// Owner is the Service an address is allocated to.
type Owner struct{ Namespace, Name string }

func (o Owner) ref() *networkingv1.ParentReference {
	return &networkingv1.ParentReference{Resource: "services", Namespace: o.Namespace, Name: o.Name}
}

// Holds reports whether ref names the Service o.
func (o Owner) Holds(ref *networkingv1.ParentReference) bool {
	return ref.GetGroup() == "" && ref.GetResource() == "services" &&
		ref.GetNamespace() == o.Namespace && ref.GetName() == o.Name
}

// Allocator hands out cluster IPs from the usable ServiceCIDRs. Run must
// be running (and have read both kinds once) for it to allocate.
type Allocator struct {
	ipAddresses registry.Backend
	cidrs       registry.Backend

	mu     sync.RWMutex
	used   map[netip.Addr]bool
	ranges map[string]cidrRange // by ServiceCIDR name

	synced   chan struct{}
	ipsRead  bool
	cidrRead bool
}

// cidrRange is what a ServiceCIDR contributes: its IPv4 prefix (Skiff's
// Services are IPv4 only, so an IPv6 CIDR is kept but never allocated
// from) and whether it takes new allocations.
type cidrRange struct {
	prefixes []netip.Prefix
	usable   bool
}

// New is an allocator over the ipaddresses and servicecidrs backends.
func New(ipAddresses, cidrs registry.Backend) *Allocator {
	return &Allocator{ipAddresses: ipAddresses, cidrs: cidrs, used: map[netip.Addr]bool{},
		ranges: map[string]cidrRange{}, synced: make(chan struct{})}
}

// Synced is closed once both kinds have been read.
func (a *Allocator) Synced() <-chan struct{} { return a.synced }

func (a *Allocator) wait(ctx context.Context) error {
	select {
	case <-a.synced:
		return nil
	case <-ctx.Done():
		return apierrors.NewServiceUnavailable("the cluster IP allocator has not read the ServiceCIDRs yet")
	}
}

// Contains reports whether ip can be allocated: inside a usable range,
// and neither its network nor its broadcast address.
func (a *Allocator) Contains(ip netip.Addr) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, r := range a.ranges {
		if !r.usable {
			continue
		}
		for _, p := range r.prefixes {
			if off, size, ok := offset(p, ip); ok && off != 0 && off != size-1 {
				return true
			}
		}
	}
	return false
}

// Ranges names the usable ranges, for error messages.
func (a *Allocator) Ranges() string {
	var out []string
	for _, p := range a.usablePrefixes() {
		out = append(out, p.String())
	}
	if len(out) == 0 {
		return "(none: no ServiceCIDR is ready)"
	}
	return strings.Join(out, ", ")
}

// usablePrefixes are the prefixes new addresses come from: the default
// range's first, then the others' by ServiceCIDR name.
func (a *Allocator) usablePrefixes() []netip.Prefix {
	a.mu.RLock()
	defer a.mu.RUnlock()
	names := make([]string, 0, len(a.ranges))
	for n, r := range a.ranges {
		if r.usable {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(x, y string) int {
		if (x == DefaultCIDRName) != (y == DefaultCIDRName) {
			if x == DefaultCIDRName {
				return -1
			}
			return 1
		}
		return cmp.Compare(x, y)
	})
	var out []netip.Prefix
	for _, n := range names {
		for _, p := range a.ranges[n].prefixes {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Allocate takes ip for owner: ErrNotInRange when no usable range holds
// it, ErrAllocated when another object has it.
func (a *Allocator) Allocate(ctx context.Context, ip netip.Addr, owner Owner) error {
	if err := a.wait(ctx); err != nil {
		return err
	}
	if !a.Contains(ip) {
		return ErrNotInRange
	}
	return a.create(ctx, ip, owner)
}

// AllocateNext takes a free address for owner, from a random place of
// the first usable range that has one; ErrFull when none has.
func (a *Allocator) AllocateNext(ctx context.Context, owner Owner) (netip.Addr, error) {
	if err := a.wait(ctx); err != nil {
		return netip.Addr{}, err
	}
	for _, p := range a.usablePrefixes() {
		ip, err := a.allocateIn(ctx, p, owner)
		if errors.Is(err, ErrFull) {
			continue
		}
		return ip, err
	}
	return netip.Addr{}, ErrFull
}

// allocateIn walks p from a random offset, skipping the network and
// broadcast addresses and the range's first address (kept for the
// kubernetes Service), and creates the first address the mirror thinks
// free; one that turns out taken is skipped.
func (a *Allocator) allocateIn(ctx context.Context, p netip.Prefix, owner Owner) (netip.Addr, error) {
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits < 2 || hostBits > 32 {
		return netip.Addr{}, ErrFull
	}
	size := uint64(1) << hostBits
	start := rand.Uint64N(size)
	for i := range size {
		off := (start + i) % size
		if off <= 1 || off == size-1 {
			continue
		}
		ip := addrAt(p, off)
		a.mu.RLock()
		taken := a.used[ip]
		a.mu.RUnlock()
		if taken {
			continue
		}
		err := a.create(ctx, ip, owner)
		if errors.Is(err, ErrAllocated) {
			continue
		}
		if err != nil {
			return netip.Addr{}, err
		}
		return ip, nil
	}
	return netip.Addr{}, ErrFull
}

func (a *Allocator) create(ctx context.Context, ip netip.Addr, owner Owner) error {
	family := "IPv4"
	if ip.Is6() {
		family = "IPv6"
	}
	obj := &networkingv1.IPAddress{
		Metadata: &metav1.ObjectMeta{Name: ip.String(), Labels: map[string]string{LabelFamily: family, LabelManagedBy: ManagedBy}},
		Spec:     &networkingv1.IPAddressSpec{ParentRef: owner.ref()},
	}
	_, err := a.ipAddresses.Create(ctx, obj, registry.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		a.mu.Lock()
		a.used[ip] = true
		a.mu.Unlock()
		return ErrAllocated
	case err != nil:
		return fmt.Errorf("create IPAddress %s: %w", ip, err)
	}
	a.mu.Lock()
	a.used[ip] = true
	a.mu.Unlock()
	return nil
}

// Mark takes ip for owner whatever the ranges say: the repair of a
// Service whose address has no IPAddress (lost, or from before
// IPAddresses existed).
func (a *Allocator) Mark(ctx context.Context, ip netip.Addr, owner Owner) error {
	return a.create(ctx, ip, owner)
}

// Free deletes addr if it is still the object read (the repair of an
// address no Service holds).
func (a *Allocator) Free(ctx context.Context, addr *networkingv1.IPAddress) error {
	return a.delete(ctx, addr)
}

// Release frees ip if owner holds it; an address held by another object,
// or already free, is left alone.
func (a *Allocator) Release(ctx context.Context, ip netip.Addr, owner Owner) error {
	obj, err := a.ipAddresses.Get(ctx, "", ip.String(), registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	addr, ok := obj.(*networkingv1.IPAddress)
	if !ok || !owner.Holds(addr.GetSpec().GetParentRef()) {
		return nil
	}
	return a.delete(ctx, addr)
}

// delete removes addr if it is still the object read (same uid).
func (a *Allocator) delete(ctx context.Context, addr *networkingv1.IPAddress) error {
	uid := addr.GetMetadata().GetUid()
	_, err := a.ipAddresses.Delete(ctx, "", addr.GetMetadata().GetName(),
		&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{Uid: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

// Has reports whether ip is allocated, reading etcd.
func (a *Allocator) Has(ctx context.Context, ip netip.Addr) (bool, error) {
	_, err := a.ipAddresses.Get(ctx, "", ip.String(), registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// offset is ip's offset in p and p's size, for IPv4 prefixes; ok is false
// when p does not hold ip.
func offset(p netip.Prefix, ip netip.Addr) (off, size uint64, ok bool) {
	if !p.Addr().Is4() || !ip.Is4() || !p.Contains(ip) {
		return 0, 0, false
	}
	return number(ip) - number(p.Masked().Addr()), uint64(1) << (32 - p.Bits()), true
}

func addrAt(p netip.Prefix, off uint64) netip.Addr {
	x := number(p.Masked().Addr()) + off
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// number is an IPv4 address as an integer.
func number(ip netip.Addr) uint64 {
	v := ip.As4()
	return uint64(v[0])<<24 | uint64(v[1])<<16 | uint64(v[2])<<8 | uint64(v[3])
}

// First is the first address of p after its network address: the
// kubernetes Service's.
func First(p netip.Prefix) netip.Addr { return addrAt(p, 1) }
