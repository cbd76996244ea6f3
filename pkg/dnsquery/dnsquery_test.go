package dnsquery

import (
	"net"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// serveOnce answers the first query on a local UDP socket with a stale
// response (another id) and then the real one, whose answer is addr.
func serveOnce(t *testing.T, addr [4]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var q dnsmessage.Message
		if err := q.Unpack(buf[:n]); err != nil {
			return
		}
		for _, id := range []uint16{q.ID + 1, q.ID} {
			resp := dnsmessage.Message{
				Header:    dnsmessage.Header{ID: id, Response: true},
				Questions: q.Questions,
				Answers: []dnsmessage.Resource{{
					Header: dnsmessage.ResourceHeader{Name: q.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
					Body:   &dnsmessage.AResource{A: [4]byte{addr[0], addr[1], addr[2], addr[3] + byte(q.ID-id)}},
				}},
			}
			packet, _ := resp.Pack()
			_, _ = pc.WriteTo(packet, from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestExchangeSkipsOtherIDs(t *testing.T) {
	server := serveOnce(t, [4]byte{10, 96, 0, 10})
	conn, err := net.Dial("udp", server)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("kube-dns.kube-system.svc.cluster.local."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	resp, err := Exchange(conn, 42, q)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if resp.ID != 42 || len(resp.Answers) != 1 {
		t.Fatalf("got id %d with %d answers, want id 42 with 1", resp.ID, len(resp.Answers))
	}
	if got := Data(resp.Answers[0].Body); got != "10.96.0.10" {
		t.Errorf("got answer %s, want 10.96.0.10 (the stale response's would be 10.96.0.9)", got)
	}
}

func TestData(t *testing.T) {
	name := dnsmessage.MustNewName("web.default.svc.cluster.local.")
	for _, tc := range []struct {
		body dnsmessage.ResourceBody
		typ  dnsmessage.Type
		want string
	}{
		{&dnsmessage.AResource{A: [4]byte{10, 0, 0, 7}}, dnsmessage.TypeA, "10.0.0.7"},
		{&dnsmessage.AAAAResource{AAAA: [16]byte{0xfd, 15: 1}}, dnsmessage.TypeAAAA, "fd00::1"},
		{&dnsmessage.CNAMEResource{CNAME: name}, dnsmessage.TypeCNAME, "web.default.svc.cluster.local."},
		{&dnsmessage.PTRResource{PTR: name}, dnsmessage.TypePTR, "web.default.svc.cluster.local."},
		{&dnsmessage.SRVResource{Priority: 0, Weight: 100, Port: 80, Target: name}, dnsmessage.TypeSRV, "0 100 80 web.default.svc.cluster.local."},
		{&dnsmessage.TXTResource{TXT: []string{"a", "b c"}}, dnsmessage.TypeTXT, "a b c"},
	} {
		if got := Data(tc.body); got != tc.want {
			t.Errorf("%s: got %q, want %q", TypeName(tc.typ), got, tc.want)
		}
	}
	if got := TypeName(dnsmessage.TypeSRV); got != "SRV" {
		t.Errorf("got type name %q, want SRV", got)
	}
}
