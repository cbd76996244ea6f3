package netpol

import (
	"sigs.k8s.io/knftables"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
)

const node = "node-a"

// testPods: one local server with named ports, peers on another node in
// two namespaces.
var testPods = []Pod{
	{Namespace: "default", Name: "server", Node: node, IP: "10.244.1.5", Labels: map[string]string{"app": "web"},
		Ports: []NamedPort{{Name: "http", Protocol: "TCP", Port: 8080}, {Name: "dns", Protocol: "UDP", Port: 53}}},
	{Namespace: "default", Name: "client", Node: "node-b", IP: "10.244.2.5", Labels: map[string]string{"role": "client"},
		Ports: []NamedPort{{Name: "http", Protocol: "TCP", Port: 8081}}},
	{Namespace: "default", Name: "other", Node: "node-b", IP: "10.244.2.6", Labels: map[string]string{"role": "other"}},
	{Namespace: "prod", Name: "api", Node: "node-b", IP: "10.244.3.5", Labels: map[string]string{"role": "client"}},
	{Namespace: "prod", Name: "local", Node: node, IP: "10.244.1.9", Labels: map[string]string{"app": "web"}},
}

var testNamespaces = map[string]map[string]string{
	"default": {labelNamespaceName: "default"},
	"prod":    {labelNamespaceName: "prod", "env": "prod"},
}

func policy(ns, name string, spec *networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

func sel(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func intPort(proto string, port, end int32) *networkingv1.NetworkPolicyPort {
	p := &networkingv1.NetworkPolicyPort{Port: &metav1.IntOrString{IntVal: port}}
	if proto != "" {
		p.Protocol = &proto
	}
	if end != 0 {
		p.EndPort = &end
	}
	return p
}

func namedPort(proto, name string) *networkingv1.NetworkPolicyPort {
	p := &networkingv1.NetworkPolicyPort{Port: &metav1.IntOrString{Type: 1, StrVal: name}}
	if proto != "" {
		p.Protocol = &proto
	}
	return p
}

// renderText is the full-sync transaction of the state on node, as nft reads it.
func renderText(policies ...*networkingv1.NetworkPolicy) string {
	r := Render(node, State{Pods: testPods, Namespaces: testNamespaces, Policies: policies})
	tx := knftables.NewFake(Family, Table).NewTransaction()
	r.Full(tx, nil)
	return tx.String()
}
