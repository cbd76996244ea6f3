package nodeipam

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// Limits of a CIDR set, as Kubernetes' range allocator has them: at most
// 2^16 subnets, and subnets big enough for a bridge and some pods.
const (
	maxSubnetBits = 16
	maxMaskSize   = 30
)

var (
	// ErrFull: every subnet of the cluster CIDR is in use.
	ErrFull = errors.New("no free subnet in the cluster CIDR")
	// ErrOutside: a CIDR is not inside the cluster CIDR.
	ErrOutside = errors.New("not inside the cluster CIDR")
)

// CIDRSet hands out the subnets of one size (the node mask size) of an
// IPv4 cluster CIDR, lowest free first. It is not safe for concurrent use.
type CIDRSet struct {
	cluster  netip.Prefix
	maskSize int
	used     []uint64 // one bit per subnet, subnet i at bit i%64 of word i/64
	count    int
	free     int
}

// NewCIDRSet makes an empty set of the /maskSize subnets of cluster.
func NewCIDRSet(cluster netip.Prefix, maskSize int) (*CIDRSet, error) {
	if !cluster.IsValid() || !cluster.Addr().Is4() {
		return nil, fmt.Errorf("cluster CIDR %s: only IPv4 is supported", cluster)
	}
	cluster = cluster.Masked()
	switch {
	case maskSize <= cluster.Bits():
		return nil, fmt.Errorf("node mask size %d must be larger than the cluster CIDR's prefix length %d", maskSize, cluster.Bits())
	case maskSize > maxMaskSize:
		return nil, fmt.Errorf("node mask size %d must be at most %d", maskSize, maxMaskSize)
	case maskSize-cluster.Bits() > maxSubnetBits:
		return nil, fmt.Errorf("node mask size %d must be at most %d more than the cluster CIDR's prefix length %d (at most %d nodes)",
			maskSize, maxSubnetBits, cluster.Bits(), 1<<maxSubnetBits)
	}
	count := 1 << (maskSize - cluster.Bits())
	return &CIDRSet{cluster: cluster, maskSize: maskSize, used: make([]uint64, (count+63)/64), count: count, free: count}, nil
}

// Free is the number of free subnets.
func (s *CIDRSet) Free() int { return s.free }

// Next takes the lowest free subnet, or returns ErrFull.
func (s *CIDRSet) Next() (netip.Prefix, error) {
	for w, word := range s.used {
		if word == ^uint64(0) {
			continue
		}
		i := w*64 + bits.TrailingZeros64(^word)
		if i >= s.count {
			break
		}
		s.set(i, true)
		return s.subnet(i), nil
	}
	return netip.Prefix{}, ErrFull
}

// Occupy marks the subnets a CIDR covers as used: the one it lies in if it
// is smaller than a subnet, every one inside it if it is bigger.
func (s *CIDRSet) Occupy(p netip.Prefix) error {
	first, n, err := s.span(p)
	if err != nil {
		return err
	}
	for i := first; i < first+n; i++ {
		s.set(i, true)
	}
	return nil
}

// Release frees the subnets a CIDR covers (as Occupy counts them).
func (s *CIDRSet) Release(p netip.Prefix) error {
	first, n, err := s.span(p)
	if err != nil {
		return err
	}
	for i := first; i < first+n; i++ {
		s.set(i, false)
	}
	return nil
}

// span is the index of the first subnet p covers and how many it covers.
func (s *CIDRSet) span(p netip.Prefix) (first, n int, err error) {
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() < s.cluster.Bits() || !s.cluster.Contains(p.Addr()) {
		return 0, 0, fmt.Errorf("%s: %w %s", p, ErrOutside, s.cluster)
	}
	offset := toUint32(p.Masked().Addr()) - toUint32(s.cluster.Addr())
	first = int(offset >> (32 - s.maskSize))
	if p.Bits() >= s.maskSize {
		return first, 1, nil
	}
	return first, 1 << (s.maskSize - p.Bits()), nil
}

func (s *CIDRSet) set(i int, used bool) {
	word, bit := i/64, uint64(1)<<(i%64)
	if was := s.used[word]&bit != 0; was == used {
		return
	}
	if used {
		s.used[word] |= bit
		s.free--
	} else {
		s.used[word] &^= bit
		s.free++
	}
}

func (s *CIDRSet) subnet(i int) netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], toUint32(s.cluster.Addr())+uint32(i)<<(32-s.maskSize))
	return netip.PrefixFrom(netip.AddrFrom4(a), s.maskSize)
}

func toUint32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}
