package allocator

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"skiff.dev/services/apiserver/internal/etcd"
)

func startEtcd(t *testing.T) *clientv3.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs embedded etcd")
	}
	e, err := etcd.Start(context.Background(), etcd.EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e.Client()
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	n, err := ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"10.96.0.0/12", true}, {"10.0.0.0/29", true}, {"10.0.0.0/8", false},
		{"10.0.0.0/30", false}, {"fd00::/108", false}, {"nonsense", false},
	} {
		if _, err := ParseCIDR(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseCIDR(%q): got %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want PortRange
		ok   bool
	}{
		{"30000-32767", PortRange{30000, 2768}, true}, {"80", PortRange{80, 1}, true},
		{"5-1", PortRange{}, false}, {"0-10", PortRange{}, false}, {"1-70000", PortRange{}, false},
	} {
		got, err := ParsePortRange(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParsePortRange(%q): got %v %v, want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestIPs(t *testing.T) {
	c := startEtcd(t)
	ctx := context.Background()
	r := NewIPs(c, ServiceIPsKey, mustCIDR(t, "10.0.0.0/29"))
	for _, tc := range []struct {
		ip   string
		want error
	}{
		{"10.0.0.0", ErrNotInRange}, {"10.0.0.7", ErrNotInRange}, {"10.0.1.1", ErrNotInRange},
		{"10.0.0.1", nil}, {"10.0.0.1", ErrAllocated}, {"10.0.0.4", nil},
	} {
		if err := r.Allocate(ctx, net.ParseIP(tc.ip)); !errors.Is(err, tc.want) {
			t.Errorf("Allocate(%s): got %v, want %v", tc.ip, err, tc.want)
		}
	}
	// .2 .3 .5 .6 are left; dynamic allocation never gives .0 .1 .7.
	got := map[string]bool{}
	for range 4 {
		ip, err := r.AllocateNext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got[ip.String()] = true
	}
	if len(got) != 4 || !got["10.0.0.2"] || !got["10.0.0.3"] || !got["10.0.0.5"] || !got["10.0.0.6"] {
		t.Errorf("AllocateNext gave %v, want .2 .3 .5 .6", got)
	}
	if _, err := r.AllocateNext(ctx); !errors.Is(err, ErrFull) {
		t.Errorf("AllocateNext on a full range: got %v, want ErrFull", err)
	}
	if err := r.Release(ctx, net.ParseIP("10.0.0.5")); err != nil {
		t.Fatal(err)
	}
	// Another server's allocator sees the change.
	other := NewIPs(c, ServiceIPsKey, mustCIDR(t, "10.0.0.0/29"))
	if has, err := other.Has(ctx, net.ParseIP("10.0.0.5")); err != nil || has {
		t.Errorf("Has(released): got %v %v, want false", has, err)
	}
	if has, _ := other.Has(ctx, net.ParseIP("10.0.0.6")); !has {
		t.Error("Has(allocated): got false, want true")
	}
	if ip, err := other.AllocateNext(ctx); err != nil || ip.String() != "10.0.0.5" {
		t.Errorf("AllocateNext after release: got %v %v, want 10.0.0.5", ip, err)
	}
	if err := r.Allocate(ctx, net.ParseIP("10.0.0.5")); !errors.Is(err, ErrAllocated) {
		t.Errorf("Allocate of what another server took: got %v, want ErrAllocated", err)
	}
}

// TestConcurrent: 500 allocations over five allocators of one key (five
// apiservers) never hand out a value twice.
func TestConcurrent(t *testing.T) {
	c := startEtcd(t)
	ctx := context.Background()
	var ips []*IPs
	var ports []*Ports
	for range 5 {
		ips = append(ips, NewIPs(c, ServiceIPsKey, mustCIDR(t, "10.96.0.0/12")))
		ports = append(ports, NewPorts(c, ServiceNodePortsKey, PortRange{Base: 30000, Size: 2768}))
	}
	var mu sync.Mutex
	seenIP, seenPort := map[string]int{}, map[int]int{}
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			ip, err := ips[i%5].AllocateNext(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			port, err := ports[i%5].AllocateNext(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seenIP[ip.String()]++
			seenPort[port]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seenIP) != 500 || len(seenPort) != 500 {
		t.Errorf("got %d distinct IPs and %d distinct ports of 500 allocations, want 500 each", len(seenIP), len(seenPort))
	}
	b, err := ips[0].store.snapshot(ctx)
	if err != nil || b.Count() != 500 {
		t.Errorf("bitmap holds %d addresses (%v), want 500", b.Count(), err)
	}
}

func TestRepair(t *testing.T) {
	c := startEtcd(t)
	ctx := context.Background()
	p := NewPorts(c, ServiceNodePortsKey, PortRange{Base: 30000, Size: 100})
	for _, port := range []int{30001, 30002} {
		if err := p.Allocate(ctx, port); err != nil {
			t.Fatal(err)
		}
	}
	leaks := Leaks{}
	now := time.Now()
	// 30002 is in use; 30003 is used but was lost; 30001 is unused.
	marked, freed, err := p.Repair(ctx, []int{30002, 30003, 80}, leaks, now, time.Minute)
	if err != nil || len(marked) != 1 || marked[0] != 30003 || len(freed) != 0 {
		t.Errorf("first repair: got marked %v freed %v (%v), want marked [30003]", marked, freed, err)
	}
	if has, _ := p.Has(ctx, 30001); !has {
		t.Error("an unused port was freed within the grace window")
	}
	_, freed, _ = p.Repair(ctx, []int{30002, 30003}, leaks, now.Add(2*time.Minute), time.Minute)
	if len(freed) != 1 || freed[0] != 30001 {
		t.Errorf("repair after the grace window freed %v, want [30001]", freed)
	}
	if has, _ := p.Has(ctx, 30001); has {
		t.Error("30001 is still allocated after the repair freed it")
	}
}

func TestRangeChange(t *testing.T) {
	c := startEtcd(t)
	ctx := context.Background()
	if err := NewPorts(c, ServiceNodePortsKey, PortRange{Base: 30000, Size: 10}).Allocate(ctx, 30005); err != nil {
		t.Fatal(err)
	}
	other := NewPorts(c, ServiceNodePortsKey, PortRange{Base: 31000, Size: 10})
	if err := other.Allocate(ctx, 31005); err != nil {
		t.Errorf("allocate in a changed range: got %v, want nil", err)
	}
}
