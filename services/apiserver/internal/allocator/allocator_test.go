package allocator

import (
	"context"
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

// TestConcurrent: 500 allocations over five allocators of one key (five
// apiservers) never hand out a port twice.
func TestConcurrent(t *testing.T) {
	c := startEtcd(t)
	ctx := context.Background()
	var ports []*Ports
	for range 5 {
		ports = append(ports, NewPorts(c, ServiceNodePortsKey, PortRange{Base: 30000, Size: 2768}))
	}
	var mu sync.Mutex
	seenPort := map[int]int{}
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			port, err := ports[i%5].AllocateNext(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seenPort[port]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seenPort) != 500 {
		t.Errorf("got %d distinct ports of 500 allocations, want 500", len(seenPort))
	}
	b, err := ports[0].store.snapshot(ctx)
	if err != nil || b.Count() != 500 {
		t.Errorf("bitmap holds %d ports (%v), want 500", b.Count(), err)
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
