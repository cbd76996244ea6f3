package endpointslicemirroring

import (
	"fmt"
	"strings"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
)

func addrs(ips ...string) []*corev1.EndpointAddress {
	var out []*corev1.EndpointAddress
	for _, ip := range ips {
		out = append(out, &corev1.EndpointAddress{Ip: ip})
	}
	return out
}

func port(name string, n int32, protocol string) *corev1.EndpointPort {
	return &corev1.EndpointPort{Name: name, Port: n, Protocol: protocol}
}

// describe renders groups as "IPv4 [http/80/TCP] 10.0.0.1 10.0.0.2(not ready)".
func describe(groups []*group) []string {
	var out []string
	for _, g := range groups {
		var ports, eps []string
		for _, p := range g.ports {
			ports = append(ports, fmt.Sprintf("%s/%d/%s", p.GetName(), p.GetPort(), p.GetProtocol()))
		}
		for _, e := range g.endpoints {
			s := strings.Join(e.GetAddresses(), ",")
			if !e.GetConditions().GetReady() {
				s += "(not ready)"
			}
			eps = append(eps, s)
		}
		out = append(out, fmt.Sprintf("%s [%s] %s", g.addressType, strings.Join(ports, " "), strings.Join(eps, " ")))
	}
	return out
}

func TestDesired(t *testing.T) {
	cases := []struct {
		name             string
		subsets          []*corev1.EndpointSubset
		max              int
		want             []string
		invalid, skipped int
	}{
		{name: "the conformance spec's Endpoints: a port without protocol is TCP",
			subsets: []*corev1.EndpointSubset{{Addresses: addrs("10.1.2.3"), Ports: []*corev1.EndpointPort{port("", 80, "")}}},
			want:    []string{"IPv4 [/80/TCP] 10.1.2.3"}},
		{name: "not ready addresses",
			subsets: []*corev1.EndpointSubset{{Addresses: addrs("10.0.0.2"), NotReadyAddresses: addrs("10.0.0.1"),
				Ports: []*corev1.EndpointPort{port("http", 80, "TCP")}}},
			want: []string{"IPv4 [http/80/TCP] 10.0.0.1(not ready) 10.0.0.2"}},
		{name: "an address both ready and not ready is not ready",
			subsets: []*corev1.EndpointSubset{
				{Addresses: addrs("10.0.0.1"), Ports: []*corev1.EndpointPort{port("http", 80, "TCP")}},
				{NotReadyAddresses: addrs("10.0.0.1"), Ports: []*corev1.EndpointPort{port("http", 80, "TCP")}}},
			want: []string{"IPv4 [http/80/TCP] 10.0.0.1(not ready)"}},
		{name: "subsets with the same ports are one slice",
			subsets: []*corev1.EndpointSubset{
				{Addresses: addrs("10.0.0.1"), Ports: []*corev1.EndpointPort{port("http", 80, "TCP")}},
				{Addresses: addrs("10.0.0.2"), Ports: []*corev1.EndpointPort{port("http", 80, "TCP")}}},
			want: []string{"IPv4 [http/80/TCP] 10.0.0.1 10.0.0.2"}},
		{name: "ports with the same addresses share a slice, sorted",
			subsets: []*corev1.EndpointSubset{{Addresses: addrs("10.0.0.1"),
				Ports: []*corev1.EndpointPort{port("dns-udp", 53, "UDP"), port("dns-tcp", 53, "TCP")}}},
			want: []string{"IPv4 [dns-tcp/53/TCP dns-udp/53/UDP] 10.0.0.1"}},
		{name: "different ports, different slices",
			subsets: []*corev1.EndpointSubset{
				{Addresses: addrs("10.0.0.1"), Ports: []*corev1.EndpointPort{port("a", 80, "TCP")}},
				{Addresses: addrs("10.0.0.2"), Ports: []*corev1.EndpointPort{port("b", 81, "TCP")}}},
			want: []string{"IPv4 [a/80/TCP] 10.0.0.1", "IPv4 [b/81/TCP] 10.0.0.2"}},
		{name: "IPv4 and IPv6 addresses go to slices of their type",
			subsets: []*corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "fd00::1"), Ports: []*corev1.EndpointPort{port("", 80, "TCP")}}},
			want:    []string{"IPv4 [/80/TCP] 10.0.0.1", "IPv6 [/80/TCP] fd00::1"}},
		{name: "what is not an IP is left out",
			subsets: []*corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "example.com"), Ports: []*corev1.EndpointPort{port("", 80, "TCP")}}},
			want:    []string{"IPv4 [/80/TCP] 10.0.0.1"}, invalid: 1, skipped: 1},
		{name: "at most max addresses a subset, ready ones first",
			subsets: []*corev1.EndpointSubset{{Addresses: addrs("10.0.0.3", "10.0.0.2"), NotReadyAddresses: addrs("10.0.0.1"),
				Ports: []*corev1.EndpointPort{port("", 80, "TCP")}}},
			max: 2, want: []string{"IPv4 [/80/TCP] 10.0.0.2 10.0.0.3"}, skipped: 1},
		{name: "a subset without ports",
			subsets: []*corev1.EndpointSubset{{Addresses: addrs("10.0.0.1")}},
			want:    []string{"IPv4 [] 10.0.0.1"}},
		{name: "no subsets", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = DefaultMaxEndpointsPerSubset
			}
			got := Desired(&corev1.Endpoints{Subsets: tc.subsets}, max)
			if d := describe(got.groups); strings.Join(d, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q", d, tc.want)
			}
			if got.invalid != tc.invalid || got.skipped != tc.skipped {
				t.Errorf("got %d invalid, %d skipped, want %d, %d", got.invalid, got.skipped, tc.invalid, tc.skipped)
			}
		})
	}
}

func TestDesiredCarriesAddressDetails(t *testing.T) {
	node := "node-a"
	ref := &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p", Uid: "u1"}
	got := Desired(&corev1.Endpoints{Subsets: []*corev1.EndpointSubset{{
		Addresses: []*corev1.EndpointAddress{{Ip: "10.0.0.1", Hostname: "web-0", NodeName: &node, TargetRef: ref}},
		Ports:     []*corev1.EndpointPort{port("", 80, "TCP")}}}}, DefaultMaxEndpointsPerSubset)
	e := got.groups[0].endpoints[0]
	want := &discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"}, Hostname: &[]string{"web-0"}[0], NodeName: &node, TargetRef: ref}
	if e.GetHostname() != want.GetHostname() || e.GetNodeName() != node || e.GetTargetRef().GetUid() != "u1" {
		t.Fatalf("got %v, want %v", e, want)
	}
}
