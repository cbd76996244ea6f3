package servicealloc

import (
	"context"
	"net"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/allocator"
	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/registry"
)

// TestRepair: after the allocation key is lost, a repair marks what the
// Services use; a value no Service uses is freed after the grace window.
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
	t.Cleanup(func() { cancel(); <-a.Done(); _ = e.Close() })
	cidr, _ := allocator.ParseCIDR("10.96.0.0/24")
	ips := allocator.NewIPs(e.Client(), allocator.ServiceIPsKey, cidr)
	ports := allocator.NewPorts(e.Client(), allocator.ServiceNodePortsKey, allocator.PortRange{Base: 30000, Size: 100})
	inner := a.Backend("", "services")
	b := Backend{Backend: inner, IPs: ips, Ports: ports}

	out, err := b.Create(ctx, &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &corev1.ServiceSpec{Type: "NodePort", Ports: []*corev1.ServicePort{{Port: 80}}}}, registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web := out.(*corev1.Service)
	ip, port := net.ParseIP(web.Spec.ClusterIp), int(web.Spec.Ports[0].NodePort)

	if _, err := e.Client().Delete(ctx, allocator.ServiceIPsKey); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client().Delete(ctx, allocator.ServiceNodePortsKey); err != nil {
		t.Fatal(err)
	}
	if err := ports.Allocate(ctx, 30099); err != nil { // leaked by a crash
		t.Fatal(err)
	}
	now := time.Now()
	r := &Repairer{Services: inner, IPs: ips, Ports: ports, Grace: time.Minute, Now: func() time.Time { return now }}
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if has, _ := ips.Has(ctx, ip); !has {
		t.Errorf("after the repair %s is free, want allocated", ip)
	}
	if has, _ := ports.Has(ctx, port); !has {
		t.Errorf("after the repair node port %d is free, want allocated", port)
	}
	if has, _ := ports.Has(ctx, 30099); !has {
		t.Error("the leaked port was freed within the grace window")
	}
	now = now.Add(2 * time.Minute)
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if has, _ := ports.Has(ctx, 30099); has {
		t.Error("the leaked port is still allocated after the grace window")
	}
	if has, _ := ports.Has(ctx, port); !has {
		t.Errorf("node port %d of a Service was freed", port)
	}
}
