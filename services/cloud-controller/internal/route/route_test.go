package route

import (
	"net/netip"
	"testing"

	corev1 "skiff.dev/api/core/v1"
)

func TestOurs(t *testing.T) {
	c := &Controller{cfg: Config{ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16")}}
	tests := []struct {
		cidr string
		want bool
	}{
		{"10.244.1.0/24", true},
		{"10.244.0.0/16", true},
		{"10.0.0.0/8", false},
		{"192.168.0.0/24", false},
		{"nonsense", false},
	}
	for _, tt := range tests {
		if got := c.ours(tt.cidr); got != tt.want {
			t.Errorf("ours(%s): got %v, want %v", tt.cidr, got, tt.want)
		}
	}
	if !(&Controller{}).ours("192.168.0.0/24") {
		t.Error("without a cluster CIDR every route is ours")
	}
}

func TestCIDRs(t *testing.T) {
	if got := cidrs(&corev1.Node{Spec: &corev1.NodeSpec{PodCidr: "10.1.0.0/24"}}); len(got) != 1 || got[0] != "10.1.0.0/24" {
		t.Errorf("podCIDR only: got %v", got)
	}
	both := &corev1.Node{Spec: &corev1.NodeSpec{PodCidr: "10.1.0.0/24", PodCidrs: []string{"10.1.0.0/24", "fd00::/64"}}}
	if got := cidrs(both); len(got) != 2 {
		t.Errorf("podCIDRs: got %v, want both", got)
	}
	if got := cidrs(&corev1.Node{}); got != nil {
		t.Errorf("no CIDR: got %v", got)
	}
}
