package local

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"sigs.k8s.io/yaml"
)

// Config is the local provider's --cloud-config file (YAML or JSON).
type Config struct {
	// Zone and Region label every node (topology.kubernetes.io/zone and
	// region); empty leaves the label off.
	Zone   string `json:"zone,omitempty"`
	Region string `json:"region,omitempty"`
	// InstanceType labels every node (node.kubernetes.io/instance-type);
	// default "local".
	InstanceType string `json:"instanceType,omitempty"`
	// LoadBalancerPool lists the addresses Services of type LoadBalancer
	// get: CIDRs ("192.168.100.0/28") or inclusive ranges
	// ("192.168.100.10-192.168.100.20"). An IPv4 CIDR wider than /31 leaves
	// out its network and broadcast addresses.
	LoadBalancerPool []string `json:"loadBalancerPool,omitempty"`
}

// ipRange is an inclusive range of addresses of one family.
type ipRange struct{ from, to netip.Addr }

func (r ipRange) contains(a netip.Addr) bool {
	return a.BitLen() == r.from.BitLen() && r.from.Compare(a) <= 0 && a.Compare(r.to) <= 0
}

// ParseConfig reads a configuration, refusing unknown fields, and checks
// the pool.
func ParseConfig(data []byte) (Config, []ipRange, error) {
	var c Config
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			return Config{}, nil, fmt.Errorf("local cloud config: %w", err)
		}
	}
	if c.InstanceType == "" {
		c.InstanceType = "local"
	}
	pool, err := parsePool(c.LoadBalancerPool)
	if err != nil {
		return Config{}, nil, err
	}
	return c, pool, nil
}

func parsePool(entries []string) ([]ipRange, error) {
	var out []ipRange
	var errs []error
	for i, e := range entries {
		r, err := parseRange(strings.TrimSpace(e))
		if err != nil {
			errs = append(errs, fmt.Errorf("loadBalancerPool[%d] %q: %w", i, e, err))
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func parseRange(s string) (ipRange, error) {
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, err := netip.ParseAddr(strings.TrimSpace(from))
		if err != nil {
			return ipRange{}, err
		}
		b, err := netip.ParseAddr(strings.TrimSpace(to))
		if err != nil {
			return ipRange{}, err
		}
		if a.BitLen() != b.BitLen() || a.Compare(b) > 0 {
			return ipRange{}, errors.New("want FIRST-LAST, two addresses of one family in order")
		}
		return ipRange{a.Unmap(), b.Unmap()}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return ipRange{}, errors.New("want a CIDR such as 192.168.100.0/28 or a range such as 192.168.100.10-192.168.100.20")
	}
	p = p.Masked()
	from, to := p.Addr(), last(p)
	if from.Is4() && p.Bits() < 31 {
		from, to = from.Next(), to.Prev()
	}
	return ipRange{from, to}, nil
}

// last is the highest address of a prefix.
func last(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
