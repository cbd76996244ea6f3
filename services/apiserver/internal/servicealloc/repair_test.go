package servicealloc

import (
	"context"
	"net/netip"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/allocator"
	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/ipalloc"
	"skiff.dev/services/apiserver/internal/registry"
)

// TestRepair: a Service whose IPAddress was lost gets it back, an
// IPAddress of the allocator that no Service holds is deleted after the
// grace window (one made by someone else is left alone), and a node port
// lost from its bitmap is marked again while a leaked one is freed.
func TestRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs embedded etcd")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Config{Etcd: e.Client(), WatchCacheSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mirrored := make(chan struct{})
	t.Cleanup(func() { cancel(); <-mirrored; <-a.Done(); _ = e.Close() })
	addrs, cidrs := a.Backend("networking.k8s.io", "ipaddresses"), a.Backend("networking.k8s.io", "servicecidrs")
	if err := (&ipalloc.DefaultCIDR{CIDRs: cidrs, Range: netip.MustParsePrefix("10.96.0.0/24")}).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	ips := ipalloc.New(addrs, cidrs)
	go func() { defer close(mirrored); ips.Run(ctx) }()
	ports := allocator.NewPorts(e.Client(), allocator.ServiceNodePortsKey, allocator.PortRange{Base: 30000, Size: 100})
	inner := a.Backend("", "services")
	b := Backend{Backend: inner, IPs: ips, Ports: ports}

	out, err := b.Create(ctx, &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &corev1.ServiceSpec{Type: "NodePort", Ports: []*corev1.ServicePort{{Port: 80}}}}, registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web := out.(*corev1.Service)
	ip, port := netip.MustParseAddr(web.Spec.ClusterIp), int(web.Spec.Ports[0].NodePort)
	got, err := addrs.Get(ctx, "", ip.String(), registry.GetOptions{})
	if err != nil {
		t.Fatalf("the Service's IPAddress: %v", err)
	}
	if ref := got.(*networkingv1.IPAddress).GetSpec().GetParentRef(); !(ipalloc.Owner{Namespace: "default", Name: "web"}).Holds(ref) {
		t.Errorf("IPAddress %s names %v, want services/default/web", ip, ref)
	}

	// Lost: the Service's IPAddress and the node port bitmap.
	if _, err := addrs.Delete(ctx, "", ip.String(), &metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client().Delete(ctx, allocator.ServiceNodePortsKey); err != nil {
		t.Fatal(err)
	}
	// Leaked by a crash between allocating and storing: an address and a
	// port no Service has. Not the allocator's: an address someone made.
	leaked, foreign := netip.MustParseAddr("10.96.0.77"), "10.96.0.78"
	if err := ips.Allocate(ctx, leaked, ipalloc.Owner{Namespace: "default", Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := addrs.Create(ctx, &networkingv1.IPAddress{Metadata: &metav1.ObjectMeta{Name: foreign},
		Spec: &networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Group: "example.com", Resource: "things", Name: "x"}}},
		registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ports.Allocate(ctx, 30099); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	r := &Repairer{Services: inner, IPAddresses: addrs, IPs: ips, Ports: ports, Grace: time.Minute, Now: func() time.Time { return now }}
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if has, _ := ips.Has(ctx, ip); !has {
		t.Errorf("after the repair %s has no IPAddress, want one", ip)
	}
	if has, _ := ports.Has(ctx, port); !has {
		t.Errorf("after the repair node port %d is free, want allocated", port)
	}
	if has, _ := ips.Has(ctx, leaked); !has {
		t.Error("the leaked address was freed within the grace window")
	}
	if has, _ := ports.Has(ctx, 30099); !has {
		t.Error("the leaked port was freed within the grace window")
	}
	now = now.Add(2 * time.Minute)
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if has, _ := ips.Has(ctx, leaked); has {
		t.Error("the leaked address is still allocated after the grace window")
	}
	if has, _ := ips.Has(ctx, netip.MustParseAddr(foreign)); !has {
		t.Error("the repair deleted an IPAddress the allocator did not make")
	}
	if has, _ := ports.Has(ctx, 30099); has {
		t.Error("the leaked port is still allocated after the grace window")
	}
	if has, _ := ips.Has(ctx, ip); !has {
		t.Errorf("the Service's address %s was freed", ip)
	}
	if has, _ := ports.Has(ctx, port); !has {
		t.Errorf("node port %d of a Service was freed", port)
	}
}
