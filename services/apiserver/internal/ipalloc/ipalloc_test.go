package ipalloc

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/registry"
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

// server is one apiserver's API and allocator over the shared etcd, with
// the default ServiceCIDR of def.
type server struct {
	api   *api.API
	alloc *Allocator
}

func newServer(t *testing.T, c *clientv3.Client, def string) server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := api.New(api.Config{Etcd: c, WatchCacheSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cidrs := a.Backend("networking.k8s.io", "servicecidrs")
	if err := (&DefaultCIDR{CIDRs: cidrs, Range: netip.MustParsePrefix(def)}).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	al := New(a.Backend("networking.k8s.io", "ipaddresses"), cidrs)
	ran := make(chan struct{})
	go func() { defer close(ran); al.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran; <-a.Done() })
	select {
	case <-al.Synced():
	case <-time.After(time.Minute):
		t.Fatal("the allocator never read the ServiceCIDRs and IPAddresses")
	}
	return server{api: a, alloc: al}
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAllocate(t *testing.T) {
	c := startEtcd(t)
	ctx := context.Background()
	s := newServer(t, c, "10.0.0.0/29")
	web := Owner{Namespace: "default", Name: "web"}
	for _, tc := range []struct {
		ip   string
		want error
	}{
		{"10.0.0.0", ErrNotInRange}, {"10.0.0.7", ErrNotInRange}, {"10.0.1.1", ErrNotInRange},
		{"10.0.0.1", nil}, {"10.0.0.1", ErrAllocated}, {"10.0.0.4", nil},
	} {
		if err := s.alloc.Allocate(ctx, netip.MustParseAddr(tc.ip), web); !errors.Is(err, tc.want) {
			t.Errorf("Allocate(%s): got %v, want %v", tc.ip, err, tc.want)
		}
	}
	// The default ServiceCIDR is Ready, and the address is an IPAddress
	// naming its Service, with the allocator's labels.
	obj, err := s.api.Backend("networking.k8s.io", "servicecidrs").Get(ctx, "", DefaultCIDRName, registry.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc := obj.(*networkingv1.ServiceCIDR); len(sc.GetStatus().GetConditions()) != 1 || sc.Status.Conditions[0].GetType() != "Ready" || sc.Status.Conditions[0].GetStatus() != "True" {
		t.Errorf("default ServiceCIDR status: %v, want Ready True", sc.GetStatus())
	}
	obj, err = s.api.Backend("networking.k8s.io", "ipaddresses").Get(ctx, "", "10.0.0.4", registry.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr := obj.(*networkingv1.IPAddress)
	if !web.Holds(addr.GetSpec().GetParentRef()) || addr.GetMetadata().GetLabels()[LabelManagedBy] != ManagedBy || addr.GetMetadata().GetLabels()[LabelFamily] != "IPv4" {
		t.Errorf("IPAddress 10.0.0.4: %v", addr)
	}

	// .2 .3 .5 .6 are left; dynamic allocation never gives .0 .1 .7.
	got := map[string]bool{}
	for range 4 {
		ip, err := s.alloc.AllocateNext(ctx, web)
		if err != nil {
			t.Fatal(err)
		}
		got[ip.String()] = true
	}
	if len(got) != 4 || !got["10.0.0.2"] || !got["10.0.0.3"] || !got["10.0.0.5"] || !got["10.0.0.6"] {
		t.Errorf("AllocateNext gave %v, want .2 .3 .5 .6", got)
	}
	if _, err := s.alloc.AllocateNext(ctx, web); !errors.Is(err, ErrFull) {
		t.Errorf("AllocateNext on a full range: got %v, want ErrFull", err)
	}
	// Release frees only its owner's address.
	if err := s.alloc.Release(ctx, netip.MustParseAddr("10.0.0.5"), Owner{Namespace: "default", Name: "other"}); err != nil {
		t.Fatal(err)
	}
	if has, _ := s.alloc.Has(ctx, netip.MustParseAddr("10.0.0.5")); !has {
		t.Error("another Service's release freed 10.0.0.5")
	}
	if err := s.alloc.Release(ctx, netip.MustParseAddr("10.0.0.5"), web); err != nil {
		t.Fatal(err)
	}
	// Another apiserver sees it free and takes it; the first cannot.
	other := newServer(t, c, "10.0.0.0/29")
	if has, err := other.alloc.Has(ctx, netip.MustParseAddr("10.0.0.5")); err != nil || has {
		t.Errorf("Has(released): got %v %v, want false", has, err)
	}
	if ip, err := other.alloc.AllocateNext(ctx, web); err != nil || ip.String() != "10.0.0.5" {
		t.Errorf("AllocateNext after release: got %v %v, want 10.0.0.5", ip, err)
	}
	if err := s.alloc.Allocate(ctx, netip.MustParseAddr("10.0.0.5"), web); !errors.Is(err, ErrAllocated) {
		t.Errorf("Allocate of what another server took: got %v, want ErrAllocated", err)
	}

	// A second ServiceCIDR widens the ranges, for both servers.
	cidrs := s.api.Backend("networking.k8s.io", "servicecidrs")
	if _, err := cidrs.Create(ctx, &networkingv1.ServiceCIDR{Metadata: &metav1.ObjectMeta{Name: "extra"},
		Spec: &networkingv1.ServiceCIDRSpec{Cidrs: []string{"10.1.0.0/30"}}}, registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second range is usable", func() bool { return other.alloc.Contains(netip.MustParseAddr("10.1.0.2")) })
	if ip, err := other.alloc.AllocateNext(ctx, web); err != nil || ip.String() != "10.1.0.2" {
		t.Errorf("AllocateNext with the default range full: got %v %v, want 10.1.0.2 (.0 .1 .3 are never given)", ip, err)
	}
	// A range that is not Ready takes no new allocations.
	obj, err = cidrs.Get(ctx, "", "extra", registry.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	extra := obj.(*networkingv1.ServiceCIDR)
	extra.Status = &networkingv1.ServiceCIDRStatus{Conditions: []*metav1.Condition{{Type: "Ready", Status: "False", Reason: ReasonTerminating}}}
	if _, err := cidrs.UpdateStatus(ctx, extra, registry.UpdateOptions{Subresource: "status"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the range that is not Ready is left", func() bool { return !s.alloc.Contains(netip.MustParseAddr("10.1.0.1")) })
	if err := s.alloc.Allocate(ctx, netip.MustParseAddr("10.1.0.1"), web); !errors.Is(err, ErrNotInRange) {
		t.Errorf("Allocate in a range that is not Ready: got %v, want ErrNotInRange", err)
	}
}

// TestConcurrent: 500 allocations over five apiservers sharing etcd never
// hand out an address twice.
func TestConcurrent(t *testing.T) {
	c := startEtcd(t)
	ctx := context.Background()
	var servers []server
	for range 5 {
		servers = append(servers, newServer(t, c, "10.96.0.0/22"))
	}
	var mu sync.Mutex
	seen := map[netip.Addr]int{}
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			ip, err := servers[i%5].alloc.AllocateNext(ctx, Owner{Namespace: "default", Name: "svc"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[ip]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 500 {
		t.Errorf("got %d distinct addresses of 500 allocations, want 500", len(seen))
	}
	list, err := servers[0].api.Backend("networking.k8s.io", "ipaddresses").List(ctx, "", registry.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.(*networkingv1.IPAddressList).GetItems()); n != 500 {
		t.Errorf("%d IPAddresses stored, want 500", n)
	}
}
