package proxy

import (
	"fmt"
	"net"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// serveUDP answers every datagram on addr in ns with name, until the test
// ends.
func serveUDP(t testing.TB, ns *framework.Netns, addr, name string) {
	t.Helper()
	var pc net.PacketConn
	if err := ns.Do(func() (err error) {
		pc, err = net.ListenPacket("udp", addr)
		return err
	}); err != nil {
		t.Fatalf("listen on udp %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(name), from)
		}
	}()
}

// dialUDP sends one datagram from src (a fresh source port, so a new
// flow) and returns who answered.
func dialUDP(ns *framework.Netns, src, addr string) (string, error) {
	var c net.Conn
	if err := ns.Do(func() (err error) {
		d := net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}}
		c, err = d.Dial("udp", addr)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("who?")); err != nil {
		return "", err
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		return "", fmt.Errorf("udp %s: %w", addr, err)
	}
	return string(buf[:n]), nil
}

// waitSpreadUDP is waitSpread over UDP.
func waitSpreadUDP(t testing.TB, ns *framework.Netns, src, to string, want []string) {
	t.Helper()
	framework.Eventually(t, waitRules, "datagrams to "+to+" spread over the backends", func() error {
		seen := map[string]int{}
		for range 30 {
			name, err := dialUDP(ns, src, to)
			if err != nil {
				return err
			}
			seen[name]++
		}
		if len(seen) != len(want) {
			return fmt.Errorf("got answers %v", seen)
		}
		return nil
	})
}
