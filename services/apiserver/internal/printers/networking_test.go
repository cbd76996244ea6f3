package printers

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
)

func columnNames(p *Printer) []string {
	var names []string
	for _, c := range p.Columns {
		names = append(names, c.GetName())
	}
	return names
}

func TestNetworkingColumns(t *testing.T) {
	tests := []struct {
		kind    string
		columns []string
		obj     proto.Message
		want    []any
	}{
		{"NetworkPolicy", []string{"Name", "Pod-Selector", "Age"},
			&networkingv1.NetworkPolicy{Metadata: meta("deny"), Spec: &networkingv1.NetworkPolicySpec{}},
			[]any{"deny", "<none>", "5m"}},
		{"NetworkPolicy", []string{"Name", "Pod-Selector", "Age"},
			&networkingv1.NetworkPolicy{Metadata: meta("db"), Spec: &networkingv1.NetworkPolicySpec{PodSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"app": "db"}, MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"a", "b"}}}}}},
			[]any{"db", "app=db,tier in (a,b)", "5m"}},
		{"Ingress", []string{"Name", "Class", "Hosts", "Address", "Ports", "Age"},
			&networkingv1.Ingress{Metadata: meta("plain"), Spec: &networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{}}},
			[]any{"plain", "<none>", "*", "", "80", "5m"}},
		{"Ingress", []string{"Name", "Class", "Hosts", "Address", "Ports", "Age"},
			&networkingv1.Ingress{Metadata: meta("web"), Spec: &networkingv1.IngressSpec{IngressClassName: proto.String("nginx"),
				Tls: []*networkingv1.IngressTLS{{SecretName: "tls"}},
				Rules: []*networkingv1.IngressRule{{Host: "a.example.com"}, {}, {Host: "b.example.com"}, {Host: "c.example.com"},
					{Host: "d.example.com"}, {Host: "e.example.com"}}},
				Status: &networkingv1.IngressStatus{LoadBalancer: &networkingv1.IngressLoadBalancerStatus{Ingress: []*networkingv1.IngressLoadBalancerIngress{
					{Ip: "192.0.2.2"}, {Hostname: "lb.example.com"}, {Ip: "192.0.2.1"}, {Ip: "192.0.2.2"}}}}},
			[]any{"web", "nginx", "a.example.com,b.example.com,c.example.com + 3 more...", "192.0.2.1,192.0.2.2,lb.example.com", "80, 443", "5m"}},
		{"IngressClass", []string{"Name", "Controller", "Parameters", "Age"},
			&networkingv1.IngressClass{Metadata: meta("nginx"), Spec: &networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}},
			[]any{"nginx", "k8s.io/ingress-nginx", "<none>", "5m"}},
		{"IngressClass", []string{"Name", "Controller", "Parameters", "Age"},
			&networkingv1.IngressClass{Metadata: meta("lb"), Spec: &networkingv1.IngressClassSpec{Controller: "example.com/lb",
				Parameters: &networkingv1.IngressClassParametersReference{ApiGroup: proto.String("k8s.example.com"), Kind: "IngressParameters", Name: "external"}}},
			[]any{"lb", "example.com/lb", "IngressParameters.k8s.example.com/external", "5m"}},
	}
	for _, tt := range tests {
		p := For("networking.k8s.io", tt.kind)
		if got := columnNames(p); !slices.Equal(got, tt.columns) {
			t.Errorf("%s columns: got %q, want %q", tt.kind, got, tt.columns)
		}
		if got := p.Cells(tt.obj, now); !slices.Equal(got, tt.want) {
			t.Errorf("%s cells: got %q, want %q", tt.kind, got, tt.want)
		}
	}
}

func TestNetworkingColumnsWithoutSpec(t *testing.T) {
	for kind, obj := range map[string]proto.Message{"NetworkPolicy": &networkingv1.NetworkPolicy{Metadata: meta("a")},
		"Ingress": &networkingv1.Ingress{Metadata: meta("a")}, "IngressClass": &networkingv1.IngressClass{Metadata: meta("a")}} {
		if got := For("networking.k8s.io", kind).Cells(obj, now); len(got) != len(For("networking.k8s.io", kind).Columns) {
			t.Errorf("%s without spec: got %q, one cell per column wanted", kind, got)
		}
	}
}
