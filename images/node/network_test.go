package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func node(name, cidr string, addrs ...string) *corev1.Node {
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}, Spec: &corev1.NodeSpec{PodCidr: cidr}, Status: &corev1.NodeStatus{}}
	for i := 0; i+1 < len(addrs); i += 2 {
		n.Status.Addresses = append(n.Status.Addresses, &corev1.NodeAddress{Type: addrs[i], Address: addrs[i+1]})
	}
	return n
}

func TestPodRoutes(t *testing.T) {
	nodes := []*corev1.Node{
		node("self", "10.244.0.0/24", "InternalIP", "10.89.0.2"),
		node("b", "10.244.1.0/24", "Hostname", "b", "InternalIP", "10.89.0.3"),
		node("c", "10.244.2.7/24", "InternalIP", "10.89.0.4"), // not masked: routed as its network
		node("no-cidr", "", "InternalIP", "10.89.0.5"),
		node("no-ip", "10.244.3.0/24", "Hostname", "no-ip"),
		node("v6", "fd00::/64", "InternalIP", "fd00::1"),
	}
	want := map[netip.Prefix]netip.Addr{
		netip.MustParsePrefix("10.244.1.0/24"): netip.MustParseAddr("10.89.0.3"),
		netip.MustParsePrefix("10.244.2.0/24"): netip.MustParseAddr("10.89.0.4"),
	}
	if got := podRoutes(nodes, "self"); !reflect.DeepEqual(got, want) {
		t.Errorf("podRoutes = %v, want %v", got, want)
	}
	if cidr, ok := ownPodCIDR(nodes, "self"); !ok || cidr.String() != "10.244.0.0/24" {
		t.Errorf("ownPodCIDR(self) = %v, %v", cidr, ok)
	}
	if _, ok := ownPodCIDR(nodes, "no-cidr"); ok {
		t.Error("ownPodCIDR of a node without one reports one")
	}
	if _, ok := ownPodCIDR(nodes, "unknown"); ok {
		t.Error("ownPodCIDR of an unknown node reports one")
	}
}

func TestLoadBalancerIPs(t *testing.T) {
	svc := func(typ string, ips ...string) *corev1.Service {
		s := &corev1.Service{Spec: &corev1.ServiceSpec{Type: typ}, Status: &corev1.ServiceStatus{LoadBalancer: &corev1.LoadBalancerStatus{}}}
		for _, ip := range ips {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, &corev1.LoadBalancerIngress{Ip: ip})
		}
		return s
	}
	got := loadBalancerIPs([]*corev1.Service{
		svc("LoadBalancer", "10.89.0.201"),
		svc("LoadBalancer", "10.89.0.200", "10.89.0.201", "fd00::1", ""),
		svc("ClusterIP", "10.89.0.202"), // a stale status of a Service no longer LoadBalancer
		svc("LoadBalancer"),             // pending
	})
	want := []netip.Addr{netip.MustParseAddr("10.89.0.200"), netip.MustParseAddr("10.89.0.201")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loadBalancerIPs = %v, want %v", got, want)
	}
}

func TestOwnCgroup(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"12:pids:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n", "/docker/abc"},
		{"0::/system.slice/docker-abc.scope\n", "/system.slice/docker-abc.scope"},
		{"0::/\n", "/"},
	} {
		f := filepath.Join(t.TempDir(), "cgroup")
		if err := os.WriteFile(f, []byte(tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := ownCgroup(f); err != nil || got != tc.want {
			t.Errorf("ownCgroup(%q) = %q, %v; want %q", tc.file, got, err, tc.want)
		}
	}
	f := filepath.Join(t.TempDir(), "cgroup")
	if err := os.WriteFile(f, []byte("3:memory:/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ownCgroup(f); err == nil {
		t.Error("no cpu or unified line: no error")
	}
}

func TestLBLabel(t *testing.T) {
	if got := lbLabel("lo"); got != "lo:lb" {
		t.Errorf("lbLabel(lo) = %q", got)
	}
	if got := lbLabel("enp0s31f6abcd"); len(got) > 15 {
		t.Errorf("lbLabel too long: %q", got)
	}
}
