package nftables

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/services/proxy/internal/model"
)

const (
	svcChain = "service-SUSTUHLJ-default/web/tcp/http"
	ep1Chain = "endpoint-HGNPOIJ5-default/web/tcp/http__10.244.1.5/8080"
	ep2Chain = "endpoint-BZGFZVVG-default/web/tcp/http__10.244.2.7/8080"
	extChain = "external-SUSTUHLJ-default/web/tcp/http"
	locChain = "local-SUSTUHLJ-default/web/tcp/http"
	prefix   = "add rule ip skiff-proxy "
)

func TestRender(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string // lines the script must contain
		notWant []string // substrings it must not contain
	}{{
		fixture: "two endpoints",
		want: []string{
			"add element ip skiff-proxy service-ips { 10.96.0.10 . tcp . 80 : goto " + svcChain + " }",
			prefix + svcChain + " ip daddr 10.96.0.10 ip saddr != 10.244.0.0/16 jump mark-for-masquerade",
			prefix + svcChain + " numgen random mod 2 0 goto " + ep1Chain,
			prefix + svcChain + " goto " + ep2Chain,
			prefix + ep1Chain + " ip saddr 10.244.1.5 jump mark-for-masquerade",
			prefix + ep1Chain + " meta l4proto tcp dnat to 10.244.1.5:8080",
			prefix + ep2Chain + " meta l4proto tcp dnat to 10.244.2.7:8080",
			"add element ip skiff-proxy cluster-ips { 10.96.0.10 }",
			prefix + "filter-forward ct state new jump cluster-ips-check",
			prefix + "filter-output-post-dnat ct state new jump cluster-ips-check",
			prefix + "cluster-ips-check ip daddr @cluster-ips goto reject-chain",
		},
		notWant: []string{"add element ip skiff-proxy no-endpoint-services", "affinity-", "external-"},
	}, {
		fixture: "no endpoints",
		want: []string{
			"add element ip skiff-proxy no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }",
			prefix + "reject-chain meta l4proto tcp reject with tcp reset",
			prefix + "reject-chain reject with icmp type port-unreachable",
			prefix + "filter-output ct state new jump service-endpoints-check",
			"add element ip skiff-proxy cluster-ips { 10.96.0.10 }",
		},
		notWant: []string{"add element ip skiff-proxy service-ips", svcChain, "endpoint-HGNPOIJ5"},
	}, {
		fixture: "terminating fallback",
		want: []string{
			prefix + svcChain + " goto " + ep1Chain,
			"add element ip skiff-proxy service-ips { 10.96.0.10 . tcp . 80 : goto " + svcChain + " }",
		},
		notWant: []string{"10.244.2.7", "add element ip skiff-proxy no-endpoint-services"},
	}, {
		fixture: "affinity",
		want: []string{
			"add set ip skiff-proxy affinity-E6O7MYIN-default/web/tcp/http__10.244.1.5/8080 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }",
			prefix + svcChain + " ip saddr @affinity-E6O7MYIN-default/web/tcp/http__10.244.1.5/8080 goto " + ep1Chain,
			prefix + svcChain + " ip saddr @affinity-5FXTL3A4-default/web/tcp/http__10.244.2.7/8080 goto " + ep2Chain,
			prefix + ep1Chain + " update @affinity-E6O7MYIN-default/web/tcp/http__10.244.1.5/8080 { ip saddr }",
		},
	}, {
		fixture: "nodeport local",
		want: []string{
			prefix + "services ip daddr { 192.168.50.2 } meta l4proto . th dport vmap @service-nodeports",
			"add element ip skiff-proxy service-nodeports { tcp . 30080 : goto " + extChain + " }",
			"add element ip skiff-proxy service-ips { 203.0.113.9 . tcp . 80 : goto " + extChain + " }",
			prefix + extChain + " ip saddr 10.244.0.0/16 goto " + svcChain,
			prefix + extChain + " fib saddr type local jump mark-for-masquerade",
			prefix + extChain + " goto " + locChain,
			prefix + locChain + " goto " + ep1Chain,
			prefix + ep2Chain + " meta l4proto tcp dnat to 10.244.2.7:8080",
		},
		notWant: []string{prefix + extChain + " jump mark-for-masquerade"},
	}}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			f := fixtures[tt.fixture]
			got, err := renderText(testOptions, f.Services, f.Endpoints)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(got, "\n") {
				lines[l] = true
			}
			for _, w := range tt.want {
				if !lines[w] {
					t.Errorf("missing line\n  %s\nin\n%s", w, got)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("got %q in the script, want it absent", nw)
				}
			}
		})
	}
}

func TestRenderExternalPolicies(t *testing.T) {
	sp := web()
	sp.NodePort = 30080
	eps := map[model.ServicePortName][]model.Endpoint{sp.ServicePortName: {
		{IP: "10.244.2.7", Port: 8080, Ready: true, NodeName: "node-b"},
	}}
	tests := []struct {
		name  string
		local bool
		eps   map[model.ServicePortName][]model.Endpoint
		want  string
	}{
		{"cluster masquerades", false, eps, prefix + extChain + " jump mark-for-masquerade"},
		{"local without local endpoints drops", true, eps, "add element ip skiff-proxy no-endpoint-nodeports { tcp . 30080 : drop }"},
		{"no endpoints rejects", false, nil, "add element ip skiff-proxy no-endpoint-nodeports { tcp . 30080 : goto reject-chain }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp.ExternalTrafficPolicyLocal = tt.local
			got, err := renderText(testOptions, []model.ServicePort{sp}, tt.eps)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !strings.Contains(got, tt.want+"\n") {
				t.Errorf("missing line\n  %s\nin\n%s", tt.want, got)
			}
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	a, b := web(), web()
	b.Name = "api"
	eps := map[model.ServicePortName][]model.Endpoint{
		a.ServicePortName: {{IP: "10.244.1.10", Port: 80, Ready: true}, {IP: "10.244.1.9", Port: 80, Ready: true}},
	}
	first, err := renderText(testOptions, []model.ServicePort{a, b}, eps)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	eps[a.ServicePortName][0], eps[a.ServicePortName][1] = eps[a.ServicePortName][1], eps[a.ServicePortName][0]
	second, err := renderText(testOptions, []model.ServicePort{b, a}, eps)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if first != second {
		t.Errorf("got different scripts for the same state:\n%s\n---\n%s", first, second)
	}
	_, balance, _ := strings.Cut(first, "numgen random mod 2 0 goto")
	if i, j := strings.Index(balance, "10.244.1.9/80"), strings.Index(balance, "10.244.1.10/80"); i > j {
		t.Errorf("got 10.244.1.10 before 10.244.1.9, want numeric order")
	}
}

func TestNameLength(t *testing.T) {
	long := strings.Repeat("a", 63)
	n := model.ServicePortName{Namespace: long, Name: long, PortName: long, Protocol: model.SCTP}
	ep := model.Endpoint{IP: "255.255.255.255", Port: 65535}
	for _, name := range []string{serviceChain(n), endpointChain(n, ep), affinitySet(n, ep, time.Hour)} {
		if len(name) > maxNameLen {
			t.Errorf("got name of %d bytes, want at most %d: %s", len(name), maxNameLen, name)
		}
	}
	short := n
	short.PortName = long[:62]
	if endpointChain(n, ep) == endpointChain(short, ep) {
		t.Errorf("got the same chain for two ports, want the hash to tell them apart")
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	bad := func(mut func(*model.ServicePort)) []model.ServicePort {
		sp := web()
		mut(&sp)
		return []model.ServicePort{sp}
	}
	tests := []struct {
		name     string
		opts     model.Options
		services []model.ServicePort
		eps      map[model.ServicePortName][]model.Endpoint
	}{
		{"no mark", model.Options{}, nil, nil},
		{"bad cidr", model.Options{MasqueradeMark: 1, ClusterCIDR: "10.0.0.0"}, nil, nil},
		{"ipv6 cluster IP", testOptions, bad(func(sp *model.ServicePort) { sp.ClusterIP = "fd00::1" }), nil},
		{"name with space", testOptions, bad(func(sp *model.ServicePort) { sp.Name = "a b" }), nil},
		{"bad protocol", testOptions, bad(func(sp *model.ServicePort) { sp.Protocol = "icmp" }), nil},
		{"port zero", testOptions, bad(func(sp *model.ServicePort) { sp.Port = 0 }), nil},
		{"duplicate", testOptions, []model.ServicePort{web(), web()}, nil},
		{"bad endpoint", testOptions, []model.ServicePort{web()}, map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {{IP: "x", Port: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := renderText(tt.opts, tt.services, tt.eps); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

// TestBalanceForms: a cascade of rules up to cascadeMax endpoints, one
// verdict map beyond.
func TestBalanceForms(t *testing.T) {
	got, err := renderText(testOptions, fixtures["many endpoints"].Services, fixtures["many endpoints"].Endpoints)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("numgen random mod %d vmap { 0 : goto ", cascadeMax+2); !strings.Contains(got, want) {
		t.Errorf("got no verdict map for %d endpoints:\n%s", cascadeMax+2, got)
	}
	got, err = renderText(testOptions, fixtures["two endpoints"].Services, fixtures["two endpoints"].Endpoints)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "vmap {") {
		t.Errorf("got an anonymous verdict map for two endpoints, want a cascade:\n%s", got)
	}
}

// TestRenderTCPAndUDPOnOnePort: one port number over both protocols (as
// cluster DNS has it) gets a dispatch element, a chain and a DNAT per
// protocol, on the ClusterIP and on the NodePort both share.
func TestRenderTCPAndUDPOnOnePort(t *testing.T) {
	f := fixtures["tcp and udp on one port"]
	got, err := renderText(testOptions, f.Services, f.Endpoints)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		lines[l] = true
	}
	for _, sp := range f.Services {
		n, proto := sp.ServicePortName, string(sp.Protocol)
		ep := f.Endpoints[n][0]
		for _, want := range []string{
			"add element ip skiff-proxy service-ips { 10.96.0.10 . " + proto + " . 53 : goto " + serviceChain(n) + " }",
			"add element ip skiff-proxy service-nodeports { " + proto + " . 30053 : goto " + externalChain(n) + " }",
			prefix + endpointChain(n, ep) + " meta l4proto " + proto + " dnat to " + fmt.Sprintf("%s:%d", ep.IP, ep.Port),
		} {
			if !lines[want] {
				t.Errorf("%s: missing line\n  %s\nin\n%s", proto, want, got)
			}
		}
	}
}
