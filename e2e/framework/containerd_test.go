package framework

import (
	"net"
	"testing"
)

func TestParseRoutes(t *testing.T) {
	table := `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
docker0	000011AC	00000000	0001	0	0	0	0000FFFF	0	0	0
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
`
	var got []string
	for _, n := range parseRoutes(table) {
		got = append(got, n.String())
	}
	want := []string{"172.17.0.0/16", "192.0.2.0/24"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPickSubnet(t *testing.T) {
	_, taken, _ := net.ParseCIDR("10.100.0.0/16")
	draws := []int{0, 7, 0, 7, 1, 9} // 10.100.7.0/24 (taken), then 10.101.9.0/24
	intn := func(int) int { d := draws[0]; draws = draws[1:]; return d }
	got, err := pickSubnet([]*net.IPNet{taken}, intn)
	if err != nil || got.String() != "10.101.9.0/24" {
		t.Fatalf("got %v, %v, want 10.101.9.0/24", got, err)
	}
}
