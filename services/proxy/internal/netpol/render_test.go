package netpol

import (
	"strings"
	"testing"

	networkingv1 "skiff.dev/api/networking/v1"
)

const prefix = "add rule inet skiff-netpol "

func TestRenderDebug(t *testing.T) {
	t.Log(renderText(policy("default", "p", &networkingv1.NetworkPolicySpec{
		PodSelector: sel(),
		Ingress: []*networkingv1.NetworkPolicyIngressRule{{
			From:  []*networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "client")}, {IpBlock: &networkingv1.IPBlock{Cidr: "10.0.0.0/8", Except: []string{"10.244.0.0/16"}}}},
			Ports: []*networkingv1.NetworkPolicyPort{namedPort("", "http"), intPort("UDP", 5000, 5010)},
		}},
	})))
	_ = strings.Contains
}
