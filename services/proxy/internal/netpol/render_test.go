package netpol

import (
	"strings"
	"testing"

	proto2 "google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
)

const prefix = "add rule inet skiff-netpol "

var (
	serverIn  = podChain("default/server", dirIngress)
	serverEg  = podChain("default/server", dirEgress)
	pIn       = policyChain("default/p", dirIngress)
	pEg       = policyChain("default/p", dirEgress)
	elemStart = "add element inet skiff-netpol "

	clientPeer   = &networkingv1.NetworkPolicyPeer{PodSelector: sel("role", "client")}
	prodPeer     = &networkingv1.NetworkPolicyPeer{NamespaceSelector: sel("env", "prod")}
	anyClient    = &networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: sel("role", "client")}
	defaultPods  = &networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}}
	clientSet    = peerSet(clientPeer)
	prodSet      = peerSet(prodPeer)
	anyClientSet = peerSet(anyClient)
)

// peerSet is the name of the set of a peer of a policy in default.
func peerSet(peer *networkingv1.NetworkPolicyPeer) string {
	return setName("peer", peerKey("default", peer))
}

func cidrSet(elems ...string) string { return setName("cidrs", strings.Join(elems, ",")) }

// dstPortSet is the set of the app=web pods' named port in default.
func dstPortSet(name, proto string) string {
	b, _ := proto2.MarshalOptions{Deterministic: true}.Marshal(sel("app", "web"))
	return setName("port", "dst\x00default\x00"+string(b)+"\x00"+name+"\x00"+proto)
}

func peerPortSet(peer *networkingv1.NetworkPolicyPeer, name, proto string) string {
	return setName("port", "peer\x00"+peerKey("default", peer)+"\x00"+name+"\x00"+proto)
}

var tenBlock = []string{"10.0.0.0-10.243.255.255", "10.245.0.0-10.255.255.255"}

func ingress(from []*networkingv1.NetworkPolicyPeer, ports ...*networkingv1.NetworkPolicyPort) []*networkingv1.NetworkPolicyIngressRule {
	return []*networkingv1.NetworkPolicyIngressRule{{From: from, Ports: ports}}
}

func egress(to []*networkingv1.NetworkPolicyPeer, ports ...*networkingv1.NetworkPolicyPort) []*networkingv1.NetworkPolicyEgressRule {
	return []*networkingv1.NetworkPolicyEgressRule{{To: to, Ports: ports}}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		spec    *networkingv1.NetworkPolicySpec
		want    []string // lines the script must contain
		notWant []string // substrings it must not contain
	}{{
		name: "default deny ingress by an empty selector",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: &metav1.LabelSelector{}},
		want: []string{
			elemStart + "ingress-pods { 10.244.1.5 : goto " + serverIn + " }",
			prefix + serverIn + " jump " + pIn,
			prefix + serverIn + " drop",
			"add chain inet skiff-netpol " + pIn,
		},
		notWant: []string{prefix + pIn, elemStart + "egress-pods", "10.244.1.9 :", "10.244.2.5 :"},
	}, {
		name: "ingress from role=client on a named port",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"),
			Ingress: ingress([]*networkingv1.NetworkPolicyPeer{clientPeer}, namedPort("", "http"))},
		want: []string{
			prefix + pIn + " ip saddr @" + clientSet + " ip daddr . meta l4proto . th dport @" + dstPortSet("http", "tcp") + " accept",
			elemStart + clientSet + " { 10.244.2.5 }",
			elemStart + dstPortSet("http", "tcp") + " { 10.244.1.5 . tcp . 8080 }",
		},
		// prod/api is role=client but in another namespace; the client's
		// own http port is not the destination's.
		notWant: []string{"10.244.3.5", "10.244.2.6", "8081", "@" + clientSet + " accept"},
	}, {
		name: "namespaceSelector alone: every pod of the namespaces",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"),
			Ingress: ingress([]*networkingv1.NetworkPolicyPeer{prodPeer})},
		want: []string{
			prefix + pIn + " ip saddr @" + prodSet + " accept",
			elemStart + prodSet + " { 10.244.3.5 }",
			elemStart + prodSet + " { 10.244.1.9 }",
		},
		notWant: []string{elemStart + prodSet + " { 10.244.2.5 }"},
	}, {
		name: "namespaceSelector and podSelector together",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"),
			Ingress: ingress([]*networkingv1.NetworkPolicyPeer{anyClient})},
		want: []string{
			elemStart + anyClientSet + " { 10.244.3.5 }",
			elemStart + anyClientSet + " { 10.244.2.5 }",
		},
		notWant: []string{elemStart + anyClientSet + " { 10.244.1.9 }", elemStart + anyClientSet + " { 10.244.2.6 }"},
	}, {
		name: "ipBlock with except, numeric ports, port ranges and protocols",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"),
			Ingress: ingress([]*networkingv1.NetworkPolicyPeer{{IpBlock: &networkingv1.IPBlock{Cidr: "10.0.0.0/8", Except: []string{"10.244.0.0/16"}}}},
				intPort("", 80, 0), intPort("UDP", 5000, 5010), intPort("SCTP", 0, 0))},
		want: []string{
			prefix + pIn + " ip saddr @" + cidrSet(tenBlock...) + " meta l4proto tcp th dport 80 accept",
			prefix + pIn + " ip saddr @" + cidrSet(tenBlock...) + " meta l4proto udp th dport 5000-5010 accept",
			prefix + pIn + " ip saddr @" + cidrSet(tenBlock...) + " meta l4proto sctp accept",
			elemStart + cidrSet(tenBlock...) + " { 10.0.0.0-10.243.255.255 }",
			elemStart + cidrSet(tenBlock...) + " { 10.245.0.0-10.255.255.255 }",
		},
		notWant: []string{"peer-"},
	}, {
		name: "egress to an ipBlock only: ingress is not isolated",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"), PolicyTypes: []string{"Egress"},
			Egress: egress([]*networkingv1.NetworkPolicyPeer{{IpBlock: &networkingv1.IPBlock{Cidr: "192.168.7.0/24"}}})},
		want: []string{
			elemStart + "egress-pods { 10.244.1.5 : goto " + serverEg + " }",
			prefix + serverEg + " jump " + pEg,
			prefix + pEg + " ip daddr @" + cidrSet("192.168.7.0-192.168.7.255") + " accept",
			elemStart + cidrSet("192.168.7.0-192.168.7.255") + " { 192.168.7.0-192.168.7.255 }",
		},
		notWant: []string{elemStart + "ingress-pods", pIn},
	}, {
		name: "unset policyTypes with egress rules isolate both ways; egress named ports resolve on the peers",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"),
			Egress: egress([]*networkingv1.NetworkPolicyPeer{defaultPods}, namedPort("TCP", "http"))},
		want: []string{
			elemStart + "ingress-pods { 10.244.1.5 : goto " + serverIn + " }",
			elemStart + "egress-pods { 10.244.1.5 : goto " + serverEg + " }",
			prefix + pEg + " ip daddr . meta l4proto . th dport @" + peerPortSet(defaultPods, "http", "tcp") + " accept",
			elemStart + peerPortSet(defaultPods, "http", "tcp") + " { 10.244.1.5 . tcp . 8080 }",
			elemStart + peerPortSet(defaultPods, "http", "tcp") + " { 10.244.2.5 . tcp . 8081 }",
		},
		notWant: []string{"10.244.2.6 ."},
	}, {
		name: "a named port with only ipBlock peers matches nothing",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"), PolicyTypes: []string{"Egress"},
			Egress: egress([]*networkingv1.NetworkPolicyPeer{{IpBlock: &networkingv1.IPBlock{Cidr: "10.0.0.0/8"}}}, namedPort("", "http"))},
		want:    []string{"add chain inet skiff-netpol " + pEg},
		notWant: []string{prefix + pEg, "port-"},
	}, {
		name: "empty from and ports allow everything to the selected pods",
		spec: &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"),
			Ingress: []*networkingv1.NetworkPolicyIngressRule{{}}},
		want: []string{prefix + pIn + " accept"},
	}, {
		name:    "a policy selecting no pod of this node writes nothing",
		spec:    &networkingv1.NetworkPolicySpec{PodSelector: sel("role", "client")},
		notWant: []string{pIn, elemStart + "ingress-pods"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderText(policy("default", "p", tt.spec))
			for _, w := range tt.want {
				if !strings.Contains(got, w+"\n") {
					t.Errorf("script lacks %q; got\n%s", w, got)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("script contains %q; got\n%s", nw, got)
				}
			}
		})
	}
}

// TestRenderUnion checks that two policies selecting one pod are both
// jumped to before the drop, in a stable order.
func TestRenderUnion(t *testing.T) {
	a := policy("default", "a", &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web")})
	b := policy("default", "b", &networkingv1.NetworkPolicySpec{PodSelector: &metav1.LabelSelector{}})
	got := renderText(b, a)
	want := prefix + serverIn + " jump " + policyChain("default/a", dirIngress) + "\n" +
		prefix + serverIn + " jump " + policyChain("default/b", dirIngress) + "\n" +
		prefix + serverIn + " drop\n"
	if !strings.Contains(got, want) {
		t.Errorf("got\n%s\nwant it to contain\n%s", got, want)
	}
	if again := renderText(a, b); again != got {
		t.Errorf("got a different script for the policies in another order")
	}
}

func TestNameLength(t *testing.T) {
	long := strings.Repeat("n", 63) + "/" + strings.Repeat("p", 253)
	for _, name := range []string{policyChain(long, dirIngress), podChain(long, dirEgress), setName("port", long)} {
		if len(name) > maxNameLen {
			t.Errorf("got a %d-byte name %q, want at most %d", len(name), name, maxNameLen)
		}
	}
}

func TestPodFrom(t *testing.T) {
	pod := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{"a": "b"}},
			Spec: &corev1.PodSpec{NodeName: ptr("n"), Containers: []*corev1.Container{{Ports: []*corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080}, {ContainerPort: 9090}, {Name: "dns", ContainerPort: 53, Protocol: "UDP"}}}}},
			Status: &corev1.PodStatus{Phase: "Running", PodIp: "10.244.1.2"},
		}
		mut(p)
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		ok   bool
	}{
		{"running", pod(func(*corev1.Pod) {}), true},
		{"host network", pod(func(p *corev1.Pod) { p.Spec.HostNetwork = ptr(true) }), false},
		{"no address yet", pod(func(p *corev1.Pod) { p.Status.PodIp = "" }), false},
		{"succeeded", pod(func(p *corev1.Pod) { p.Status.Phase = "Succeeded" }), false},
		{"IPv6", pod(func(p *corev1.Pod) { p.Status.PodIp = "fd00::5" }), false},
	}
	for _, tt := range tests {
		got, ok := PodFrom(tt.pod)
		if ok != tt.ok {
			t.Errorf("%s: got ok %v, want %v", tt.name, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		want := []NamedPort{{"http", "TCP", 8080}, {"dns", "UDP", 53}}
		if len(got.Ports) != len(want) || got.Ports[0] != want[0] || got.Ports[1] != want[1] {
			t.Errorf("%s: got ports %v, want %v", tt.name, got.Ports, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestRenderSharesSets checks that policies with the same peer share its
// set, and that a peer's pods are listed once.
func TestRenderSharesSets(t *testing.T) {
	spec := func() *networkingv1.NetworkPolicySpec {
		return &networkingv1.NetworkPolicySpec{PodSelector: sel("app", "web"),
			Ingress: ingress([]*networkingv1.NetworkPolicyPeer{clientPeer})}
	}
	got := renderText(policy("default", "a", spec()), policy("default", "b", spec()))
	if n := strings.Count(got, "add set inet skiff-netpol "+clientSet+" "); n != 1 {
		t.Errorf("got %d declarations of the shared peer set, want 1:\n%s", n, got)
	}
	for _, p := range []string{"default/a", "default/b"} {
		if want := prefix + policyChain(p, dirIngress) + " ip saddr @" + clientSet + " accept\n"; !strings.Contains(got, want) {
			t.Errorf("script lacks %q", want)
		}
	}
}

func TestPolicyTypes(t *testing.T) {
	rule := []*networkingv1.NetworkPolicyEgressRule{{}}
	tests := []struct {
		spec *networkingv1.NetworkPolicySpec
		want []string
	}{
		{&networkingv1.NetworkPolicySpec{}, []string{dirIngress}},
		{&networkingv1.NetworkPolicySpec{Egress: rule}, []string{dirIngress, dirEgress}},
		{&networkingv1.NetworkPolicySpec{PolicyTypes: []string{dirEgress}}, []string{dirEgress}},
		{&networkingv1.NetworkPolicySpec{PolicyTypes: []string{dirEgress, dirIngress}, Egress: rule}, []string{dirIngress, dirEgress}},
	}
	for _, tt := range tests {
		if got := policyTypes(tt.spec); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("policyTypes(%v): got %v, want %v", tt.spec, got, tt.want)
		}
	}
}
