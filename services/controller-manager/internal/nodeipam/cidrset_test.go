package nodeipam

import (
	"errors"
	"net/netip"
	"testing"
)

func mustSet(t *testing.T, cluster string, maskSize int) *CIDRSet {
	t.Helper()
	s, err := NewCIDRSet(netip.MustParsePrefix(cluster), maskSize)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nextN takes n subnets and returns them as strings.
func nextN(t *testing.T, s *CIDRSet, n int) []string {
	t.Helper()
	var out []string
	for range n {
		p, err := s.Next()
		if err != nil {
			t.Fatalf("after %v: %v", out, err)
		}
		out = append(out, p.String())
	}
	return out
}

func TestCIDRSetHandsOutTheLowestFreeSubnet(t *testing.T) {
	for _, c := range []struct {
		name       string
		cluster    string
		maskSize   int
		occupy     []string
		release    []string
		want       []string
		wantFreeOf int // Free() before the Next calls
	}{
		{name: "empty", cluster: "10.244.0.0/16", maskSize: 24,
			want: []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"}, wantFreeOf: 256},
		{name: "occupied ones are skipped", cluster: "10.244.0.0/16", maskSize: 24, occupy: []string{"10.244.0.0/24", "10.244.2.0/24"},
			want: []string{"10.244.1.0/24", "10.244.3.0/24"}, wantFreeOf: 254},
		{name: "a released one comes back first", cluster: "10.244.0.0/16", maskSize: 24,
			occupy: []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"}, release: []string{"10.244.1.0/24"},
			want: []string{"10.244.1.0/24", "10.244.3.0/24"}, wantFreeOf: 254},
		{name: "a CIDR bigger than a subnet occupies all it covers", cluster: "10.244.0.0/16", maskSize: 24, occupy: []string{"10.244.0.0/23"},
			want: []string{"10.244.2.0/24"}, wantFreeOf: 254},
		{name: "a CIDR smaller than a subnet occupies the one it is in", cluster: "10.244.0.0/16", maskSize: 24, occupy: []string{"10.244.0.128/25"},
			want: []string{"10.244.1.0/24"}, wantFreeOf: 255},
		{name: "occupying twice counts once", cluster: "10.244.0.0/16", maskSize: 24, occupy: []string{"10.244.0.0/24", "10.244.0.0/24"},
			wantFreeOf: 255},
		{name: "releasing a free one changes nothing", cluster: "10.244.0.0/16", maskSize: 24, release: []string{"10.244.7.0/24"},
			wantFreeOf: 256},
		{name: "past the first bitmap word", cluster: "10.0.0.0/8", maskSize: 24, occupy: []string{"10.0.0.0/18"},
			want: []string{"10.0.64.0/24"}, wantFreeOf: 65536 - 64},
		{name: "a cluster CIDR given with host bits", cluster: "10.244.3.7/16", maskSize: 26,
			want: []string{"10.244.0.0/26", "10.244.0.64/26"}, wantFreeOf: 1024},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := mustSet(t, c.cluster, c.maskSize)
			for _, p := range c.occupy {
				if err := s.Occupy(netip.MustParsePrefix(p)); err != nil {
					t.Fatalf("occupy %s: %v", p, err)
				}
			}
			for _, p := range c.release {
				if err := s.Release(netip.MustParsePrefix(p)); err != nil {
					t.Fatalf("release %s: %v", p, err)
				}
			}
			if got := s.Free(); got != c.wantFreeOf {
				t.Errorf("free: got %d, want %d", got, c.wantFreeOf)
			}
			got := nextN(t, s, len(c.want))
			for i := range c.want {
				if got[i] != c.want[i] {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestCIDRSetFull(t *testing.T) {
	s := mustSet(t, "10.244.0.0/22", 24)
	got := nextN(t, s, 4)
	if want := "10.244.3.0/24"; got[3] != want {
		t.Fatalf("last: got %s, want %s", got[3], want)
	}
	if p, err := s.Next(); !errors.Is(err, ErrFull) {
		t.Fatalf("fifth: got %v, %v, want ErrFull", p, err)
	}
	if err := s.Release(netip.MustParsePrefix("10.244.2.0/24")); err != nil {
		t.Fatal(err)
	}
	if got := nextN(t, s, 1); got[0] != "10.244.2.0/24" {
		t.Fatalf("after a release: got %s, want 10.244.2.0/24", got[0])
	}
	if _, err := s.Next(); !errors.Is(err, ErrFull) {
		t.Fatalf("full again: got %v, want ErrFull", err)
	}
}

// A count of subnets that is not a multiple of 64 ends inside the last
// bitmap word: the bits past it are not subnets.
func TestCIDRSetFullInsideAWord(t *testing.T) {
	s := mustSet(t, "10.244.0.0/16", 19)
	nextN(t, s, 8)
	if p, err := s.Next(); !errors.Is(err, ErrFull) {
		t.Fatalf("ninth: got %v, %v, want ErrFull", p, err)
	}
}

func TestCIDRSetOutside(t *testing.T) {
	s := mustSet(t, "10.244.0.0/16", 24)
	for _, p := range []string{
		"192.168.0.0/24", // elsewhere
		"10.245.0.0/24",  // just past the end
		"10.0.0.0/8",     // contains the cluster CIDR
		"fd00::/64",      // IPv6
	} {
		if err := s.Occupy(netip.MustParsePrefix(p)); !errors.Is(err, ErrOutside) {
			t.Errorf("occupy %s: got %v, want ErrOutside", p, err)
		}
		if err := s.Release(netip.MustParsePrefix(p)); !errors.Is(err, ErrOutside) {
			t.Errorf("release %s: got %v, want ErrOutside", p, err)
		}
	}
	if got := s.Free(); got != 256 {
		t.Errorf("free: got %d, want 256", got)
	}
}

func TestNewCIDRSetRejects(t *testing.T) {
	for _, c := range []struct {
		cluster  string
		maskSize int
	}{
		{"10.244.0.0/16", 16}, // not larger than the prefix
		{"10.244.0.0/16", 8},
		{"10.244.0.0/16", 31}, // too small a subnet
		{"10.0.0.0/8", 25},    // more than 2^16 subnets
		{"fd00::/48", 64},     // IPv6
	} {
		if _, err := NewCIDRSet(netip.MustParsePrefix(c.cluster), c.maskSize); err == nil {
			t.Errorf("%s with mask size %d: got no error, want one", c.cluster, c.maskSize)
		}
	}
}
