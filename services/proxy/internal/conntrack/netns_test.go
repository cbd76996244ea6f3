//go:build linux && (amd64 || arm64)

package conntrack

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"skiff.dev/services/proxy/internal/model"
	"skiff.dev/services/proxy/internal/model/modeltest"
	"skiff.dev/services/proxy/internal/netnstest"
	"skiff.dev/services/proxy/internal/nftables"
)

// TestClearLetsUDPReachTheService: a client that sent to a Service's
// address before the proxy had rules for it keeps its datagrams routed
// the old way — the kernel tracks the flow without the DNAT — until the
// entry is cleared; then the same flow reaches the endpoint.
func TestClearLetsUDPReachTheService(t *testing.T) {
	ns := netnstest.New(t, "skiff-ct", "nft")
	const endpoint = "10.244.1.5"
	ns.Topology(t, modeltest.Options.NodeIPs[0], endpoint)
	ns.ServeNamesUDP(t, 8080, endpoint)
	var b *nftables.Backend
	var client net.PacketConn
	if err := ns.Do(func() (err error) {
		if b, err = nftables.New(modeltest.Options); err != nil {
			return err
		}
		client, err = net.ListenPacket("udp", netnstest.ClientIP+":40053") // one flow throughout
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	udp, _ := modeltest.DNS()
	service := net.UDPAddrFromAddrPort(netipAddrPort(udp.ClusterIP, udp.Port))
	ask := func() (string, error) {
		if _, err := client.WriteTo([]byte("who?"), service); err != nil {
			return "", err
		}
		_ = client.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 64)
		n, _, err := client.ReadFrom(buf)
		return string(buf[:n]), err
	}
	sync := func(st model.State) {
		if err := ns.Do(func() error { _, err := b.Sync(context.Background(), st, true); return err }); err != nil {
			t.Fatal(err)
		}
	}

	before := model.State{}
	sync(before)
	if got, err := ask(); err == nil {
		t.Fatalf("got %q from a Service without rules", got)
	}
	after := model.State{Services: []model.ServicePort{udp},
		Endpoints: map[model.ServicePortName][]model.Endpoint{udp.ServicePortName: {modeltest.Endpoint(endpoint, true, "")}}}
	sync(after)
	if got, err := ask(); err == nil {
		t.Fatalf("got %q before clearing: the test no longer makes a stale entry", got)
	}
	if err := ns.Do(func() error { _, err := Clear(Stale(before, after)); return err }); err != nil {
		t.Fatal(err)
	}
	if got, err := ask(); err != nil || got != endpoint {
		t.Fatalf("after clearing: got %q, %v; want the endpoint's answer", got, err)
	}
}

func netipAddrPort(ip string, port int) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port))
}
