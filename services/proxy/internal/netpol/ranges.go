package netpol

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// span is an inclusive range of IPv4 addresses.
type span struct{ lo, hi uint32 }

// blockSpans returns the addresses of an ipBlock, its CIDR minus its
// excepts, as ranges. A CIDR that does not parse as IPv4 (IPv6 blocks;
// the cluster's pods are IPv4) gives none; excepts that do not parse are
// left out, as validation rejects them.
func blockSpans(cidr string, except []string) []span {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return nil
	}
	out := []span{prefixSpan(p)}
	for _, e := range except {
		ep, err := netip.ParsePrefix(e)
		if err != nil || !ep.Addr().Is4() {
			continue
		}
		out = subtract(out, prefixSpan(ep))
	}
	return out
}

func prefixSpan(p netip.Prefix) span {
	p = p.Masked()
	a := p.Addr().As4()
	lo := binary.BigEndian.Uint32(a[:])
	size := uint64(1) << (32 - p.Bits())
	return span{lo: lo, hi: uint32(uint64(lo) + size - 1)}
}

// subtract removes cut from each span.
func subtract(spans []span, cut span) []span {
	var out []span
	for _, s := range spans {
		if cut.hi < s.lo || cut.lo > s.hi {
			out = append(out, s)
			continue
		}
		if cut.lo > s.lo {
			out = append(out, span{s.lo, cut.lo - 1})
		}
		if cut.hi < s.hi {
			out = append(out, span{cut.hi + 1, s.hi})
		}
	}
	return out
}

// merge sorts spans and joins those that overlap or touch: an nftables
// interval set refuses overlapping elements.
func merge(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && uint64(s.lo) <= uint64(out[n-1].hi)+1 {
			out[n-1].hi = max(out[n-1].hi, s.hi)
			continue
		}
		out = append(out, s)
	}
	return out
}

// element is the span as an nftables interval-set element.
func (s span) element() string {
	if s.lo == s.hi {
		return addr(s.lo).String()
	}
	return addr(s.lo).String() + "-" + addr(s.hi).String()
}

func addr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}
