package conntrack

import (
	"slices"
	"testing"

	"skiff.dev/services/proxy/internal/model"
	"skiff.dev/services/proxy/internal/model/modeltest"
)

func TestStale(t *testing.T) {
	udp, tcp := modeltest.DNS()
	udp.NodePort, udp.LoadBalancerIPs = 30053, []string{"192.168.50.200"}
	ep := func(ips ...string) []model.Endpoint {
		var out []model.Endpoint
		for _, ip := range ips {
			out = append(out, modeltest.Endpoint(ip, true, ""))
		}
		return out
	}
	state := func(udpEps, tcpEps []model.Endpoint, ports ...model.ServicePort) model.State {
		return model.State{Services: ports, Endpoints: map[model.ServicePortName][]model.Endpoint{
			udp.ServicePortName: udpEps, tcp.ServicePortName: tcpEps}}
	}
	all := []Flow{{Protocol: model.UDP, Dst: "10.96.0.10", DstPort: 53}, {Protocol: model.UDP, Dst: "192.168.50.200", DstPort: 53},
		{Protocol: model.UDP, DstPort: 30053}}
	for _, tc := range []struct {
		name       string
		prev, next model.State
		want       []Flow
	}{
		{"a new UDP port with endpoints: everything sent to it before", model.State{}, state(ep("10.244.1.5"), nil, udp), all},
		{"first endpoints of a UDP port", state(nil, nil, udp), state(ep("10.244.1.5"), nil, udp), all},
		{"endpoints unchanged", state(ep("10.244.1.5"), nil, udp), state(ep("10.244.1.5"), nil, udp), nil},
		{"an endpoint gone: what went to it", state(ep("10.244.1.5", "10.244.2.7"), nil, udp), state(ep("10.244.2.7"), nil, udp),
			[]Flow{{Protocol: model.UDP, Dst: "10.96.0.10", DstPort: 53, ReplySrc: "10.244.1.5"},
				{Protocol: model.UDP, Dst: "192.168.50.200", DstPort: 53, ReplySrc: "10.244.1.5"},
				{Protocol: model.UDP, DstPort: 30053, ReplySrc: "10.244.1.5"}}},
		{"TCP ends its own connections", state(nil, nil, tcp), state(nil, ep("10.244.1.5"), tcp), nil},
		{"a UDP port without endpoints", model.State{}, state(nil, nil, udp), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Stale(tc.prev, tc.next); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
