package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/defaults"
)

func validPolicy() *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{Spec: &networkingv1.NetworkPolicySpec{
		PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		Ingress: []*networkingv1.NetworkPolicyIngressRule{{
			Ports: []*networkingv1.NetworkPolicyPort{{Port: &metav1.IntOrString{Type: 1, StrVal: "postgres"}}},
			From: []*networkingv1.NetworkPolicyPeer{
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}}},
				{IpBlock: &networkingv1.IPBlock{Cidr: "10.0.0.0/16", Except: []string{"10.0.1.0/24"}}},
			},
		}},
		Egress: []*networkingv1.NetworkPolicyEgressRule{{
			Ports: []*networkingv1.NetworkPolicyPort{{Port: &metav1.IntOrString{IntVal: 5000}, EndPort: proto.Int32(5100)}},
			To:    []*networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
		}},
	}}
	defaults.NetworkPolicy(np)
	return np
}

func TestNetworkPolicyDefaults(t *testing.T) {
	np := validPolicy()
	if got := np.Spec.Ingress[0].Ports[0].GetProtocol(); got != "TCP" {
		t.Errorf("protocol: got %q, want TCP", got)
	}
	if got := np.Spec.PolicyTypes; len(got) != 2 || got[0] != "Ingress" || got[1] != "Egress" {
		t.Errorf("policy types with egress rules: got %q, want [Ingress Egress]", got)
	}
	ingressOnly := &networkingv1.NetworkPolicy{}
	defaults.NetworkPolicy(ingressOnly)
	if got := ingressOnly.Spec.PolicyTypes; len(got) != 1 || got[0] != "Ingress" {
		t.Errorf("policy types without egress rules: got %q, want [Ingress]", got)
	}
	egressOnly := &networkingv1.NetworkPolicy{Spec: &networkingv1.NetworkPolicySpec{PolicyTypes: []string{"Egress"}}}
	defaults.NetworkPolicy(egressOnly)
	if got := egressOnly.Spec.PolicyTypes; len(got) != 1 || got[0] != "Egress" {
		t.Errorf("given policy types: got %q, want [Egress]", got)
	}
}

func TestValidateNetworkPolicy(t *testing.T) {
	expectMessages(t, ValidateNetworkPolicy(validPolicy()))
	in := func(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicyIngressRule { return np.Spec.Ingress[0] }
	out := func(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicyEgressRule { return np.Spec.Egress[0] }
	block := func(np *networkingv1.NetworkPolicy) *networkingv1.IPBlock { return in(np).From[1].IpBlock }
	tests := []struct {
		name   string
		change func(*networkingv1.NetworkPolicy)
		want   []string
	}{
		{"invalid cidr", func(np *networkingv1.NetworkPolicy) { block(np).Cidr = "10.0.0.0/33" },
			[]string{`spec.ingress[0].from[1].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`}},
		{"no cidr", func(np *networkingv1.NetworkPolicy) { block(np).Cidr = "" },
			[]string{`spec.ingress[0].from[1].ipBlock.cidr: Required value`}},
		{"legacy cidr forms pass", func(np *networkingv1.NetworkPolicy) { block(np).Cidr = "010.0.0.1/16" }, nil},
		{"except outside cidr", func(np *networkingv1.NetworkPolicy) { block(np).Except = []string{"192.168.0.0/24"} },
			[]string{`spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: "192.168.0.0/24": must be a strict subset of ` + "`cidr`"}},
		{"except equal to cidr", func(np *networkingv1.NetworkPolicy) { block(np).Except = []string{"10.0.0.0/16"} },
			[]string{`spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: "10.0.0.0/16": must be a strict subset of ` + "`cidr`"}},
		{"invalid except", func(np *networkingv1.NetworkPolicy) { block(np).Except = []string{"nope"} },
			[]string{`spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`}},
		{"port name too long", func(np *networkingv1.NetworkPolicy) { in(np).Ports[0].Port.StrVal = "a-very-long-port-name" },
			[]string{`spec.ingress[0].ports[0].port: Invalid value: "a-very-long-port-name": must be no more than 15 characters`}},
		{"port name not IANA", func(np *networkingv1.NetworkPolicy) { in(np).Ports[0].Port.StrVal = "http_alt" },
			[]string{`spec.ingress[0].ports[0].port: Invalid value: "http_alt": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`}},
		{"port number", func(np *networkingv1.NetworkPolicy) { out(np).Ports[0].Port.IntVal = 70000 },
			[]string{`spec.egress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive`,
				`spec.egress[0].ports[0].endPort: Invalid value: 70000: must be greater than or equal to ` + "`port`"}},
		{"end port over range", func(np *networkingv1.NetworkPolicy) { out(np).Ports[0].EndPort = proto.Int32(65536) },
			[]string{`spec.egress[0].ports[0].endPort: Invalid value: 65536: must be between 1 and 65535, inclusive`}},
		{"end port with name", func(np *networkingv1.NetworkPolicy) { in(np).Ports[0].EndPort = proto.Int32(6000) },
			[]string{`spec.ingress[0].ports[0].endPort: Invalid value: 6000: may not be specified when ` + "`port`" + ` is non-numeric`}},
		{"end port alone", func(np *networkingv1.NetworkPolicy) { out(np).Ports[0].Port = nil },
			[]string{`spec.egress[0].ports[0].endPort: Invalid value: 5100: may not be specified when ` + "`port`" + ` is not specified`}},
		{"protocol", func(np *networkingv1.NetworkPolicy) { in(np).Ports[0].Protocol = proto.String("ICMP") },
			[]string{`spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`}},
		{"empty peer", func(np *networkingv1.NetworkPolicy) { out(np).To[0].NamespaceSelector = nil },
			[]string{`spec.egress[0].to[0]: Required value: must specify a peer`}},
		{"ipBlock with a selector", func(np *networkingv1.NetworkPolicy) { in(np).From[1].PodSelector = &metav1.LabelSelector{} },
			[]string{`spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer`}},
		{"both selectors", func(np *networkingv1.NetworkPolicy) { in(np).From[0].NamespaceSelector = &metav1.LabelSelector{} }, nil},
		{"pod selector", func(np *networkingv1.NetworkPolicy) { np.Spec.PodSelector.MatchLabels["app"] = "a b" },
			[]string{`spec.podSelector.matchLabels: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		{"policy type", func(np *networkingv1.NetworkPolicy) { np.Spec.PolicyTypes[1] = "Sideways" },
			[]string{`spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"`}},
		{"three policy types", func(np *networkingv1.NetworkPolicy) { np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, "Ingress") },
			[]string{`spec.policyTypes: Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np := validPolicy()
			tt.change(np)
			expectMessages(t, ValidateNetworkPolicy(np), tt.want...)
		})
	}
}

// TestNetworkPolicyUpdateKeepsStoredCIDRs: a CIDR the stored policy holds
// passes an update unchanged; a new bad one does not.
func TestNetworkPolicyUpdateKeepsStoredCIDRs(t *testing.T) {
	old := validPolicy()
	old.Spec.Ingress[0].From[1].IpBlock.Cidr = "10.0.0.0/99"
	next := validPolicy()
	next.Spec.Ingress[0].From[1].IpBlock.Cidr = "10.0.0.0/99"
	expectMessages(t, ValidateNetworkPolicyUpdate(next, old))
	next.Spec.Egress[0].To = append(next.Spec.Egress[0].To, &networkingv1.NetworkPolicyPeer{IpBlock: &networkingv1.IPBlock{Cidr: "1.2.3.4/77"}})
	expectMessages(t, ValidateNetworkPolicyUpdate(next, old),
		`spec.egress[0].to[1].ipBlock.cidr: Invalid value: "1.2.3.4/77": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`)
}
