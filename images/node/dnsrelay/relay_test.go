package dnsrelay

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// upstream is a tiny DNS-shaped server on loopback: over UDP it answers
// each message with "answer:" and the message; over TCP it reads
// length-prefixed messages and answers each the same way.
type upstream struct {
	pc   net.PacketConn
	ln   net.Listener
	wg   sync.WaitGroup
	addr string
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatalf("tcp on the udp port %d: %v", port, err)
	}
	u := &upstream{pc: pc, ln: ln, addr: pc.LocalAddr().String()}
	u.wg.Add(2)
	go func() { defer u.wg.Done(); u.serveUDP() }()
	go func() { defer u.wg.Done(); u.serveTCP() }()
	t.Cleanup(func() { pc.Close(); ln.Close(); u.wg.Wait() })
	return u
}

func (u *upstream) serveUDP() {
	buf := make([]byte, 65535)
	for {
		n, from, err := u.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = u.pc.WriteTo(append([]byte("answer:"), buf[:n]...), from)
	}
}

func (u *upstream) serveTCP() {
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			defer c.Close()
			for {
				msg, err := readFramed(c)
				if err != nil {
					return
				}
				if _, err := c.Write(framed(append([]byte("answer:"), msg...))); err != nil {
					return
				}
			}
		}()
	}
}

func framed(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
}

func readFramed(r io.Reader) ([]byte, error) {
	var n uint16
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return nil, err
	}
	msg := make([]byte, n)
	_, err := io.ReadFull(r, msg)
	return msg, err
}

// startRelay runs a relay on loopback in front of upstreams and returns
// its address; the test's end stops it and checks it returned.
func startRelay(t *testing.T, upstreams ...string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	r, err := New(pc.LocalAddr().String(), upstreams)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, pc, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve after its context ended = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of its context ending")
		}
	})
	return pc.LocalAddr().String()
}

func TestRelayUDP(t *testing.T) {
	u := startUpstream(t)
	addr := startRelay(t, u.addr)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, q := range []string{"query-1", "query-2"} {
		if _, err := c.Write([]byte(q)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1024)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read the answer to %s: %v", q, err)
		}
		if got, want := string(buf[:n]), "answer:"+q; got != want {
			t.Errorf("answer over UDP = %q, want %q", got, want)
		}
	}
}

func TestRelayUDPLargeMessage(t *testing.T) {
	u := startUpstream(t)
	addr := startRelay(t, u.addr)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	q := bytes.Repeat([]byte{0xab}, 4000)
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("answer:"), q...); !bytes.Equal(buf[:n], want) {
		t.Errorf("answer of %d bytes, want %d bytes equal to the query behind answer:", n, len(want))
	}
}

func TestRelayTCP(t *testing.T) {
	u := startUpstream(t)
	addr := startRelay(t, u.addr)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	// Two queries on one connection, as resolvers do over TCP.
	for _, q := range []string{"tcp-query-1", "tcp-query-2"} {
		if _, err := c.Write(framed([]byte(q))); err != nil {
			t.Fatal(err)
		}
		got, err := readFramed(c)
		if err != nil {
			t.Fatalf("read the answer to %s: %v", q, err)
		}
		if want := "answer:" + q; string(got) != want {
			t.Errorf("answer over TCP = %q, want %q", got, want)
		}
	}
}

// A dead first upstream (nothing listening) is passed over for the next.
func TestRelayNextUpstream(t *testing.T) {
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	u := startUpstream(t)
	addr := startRelay(t, deadAddr, u.addr)
	for _, network := range []string{"udp", "tcp"} {
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		var got []byte
		if network == "udp" {
			_, err = c.Write([]byte("q"))
			buf := make([]byte, 64)
			var n int
			if err == nil {
				n, err = c.Read(buf)
			}
			got = buf[:n]
		} else {
			_, err = c.Write(framed([]byte("q")))
			if err == nil {
				got, err = readFramed(c)
			}
		}
		c.Close()
		if err != nil || string(got) != "answer:q" {
			t.Errorf("%s through a dead and a live upstream: got %q, %v, want answer:q", network, got, err)
		}
	}
}

func TestNewNeedsUpstream(t *testing.T) {
	if _, err := New("127.0.0.1:0", nil); err == nil {
		t.Error("New with no upstream: got no error, want one")
	}
}
