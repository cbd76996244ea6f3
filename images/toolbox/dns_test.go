package main

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// closedPort is a loopback UDP address nothing listens on: queries to it
// are refused, so dnsbench counts them lost without waiting out a timeout.
func closedPort(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := conn.LocalAddr().String()
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// serveDNS answers on a loopback UDP port until the test ends: A for
// web.test., CHAOS TXT for version.server., SRV for _http._tcp.web.test.,
// NXDOMAIN for anything else. It returns the server's address.
func serveDNS(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			var q dnsmessage.Message
			if q.Unpack(buf[:n]) != nil || len(q.Questions) != 1 {
				continue
			}
			a := answer(q)
			resp, err := a.Pack()
			if err == nil {
				_, _ = conn.WriteTo(resp, from)
			}
		}
	}()
	return conn.LocalAddr().String()
}

// answer is serveDNS's response to q.
func answer(q dnsmessage.Message) dnsmessage.Message {
	question := q.Questions[0]
	resp := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true, Authoritative: true}, Questions: q.Questions}
	hdr := dnsmessage.ResourceHeader{Name: question.Name, Type: question.Type, Class: question.Class, TTL: 5}
	switch {
	case question.Name.String() == "web.test." && question.Type == dnsmessage.TypeA:
		resp.Answers = []dnsmessage.Resource{{Header: hdr, Body: &dnsmessage.AResource{A: [4]byte{10, 96, 0, 20}}}}
	case question.Name.String() == "version.server." && question.Class == dnsmessage.ClassCHAOS:
		resp.Answers = []dnsmessage.Resource{{Header: hdr, Body: &dnsmessage.TXTResource{TXT: []string{"CoreDNS-1.15.0"}}}}
	case question.Name.String() == "_http._tcp.web.test." && question.Type == dnsmessage.TypeSRV:
		target := dnsmessage.MustNewName("web-0.web.test.")
		resp.Answers = []dnsmessage.Resource{{Header: hdr, Body: &dnsmessage.SRVResource{Priority: 0, Weight: 100, Port: 80, Target: target}}}
	default:
		resp.RCode = dnsmessage.RCodeNameError
	}
	return resp
}

func TestDNSApplets(t *testing.T) {
	server := serveDNS(t)
	for _, tc := range []struct {
		argv     []string
		code     int
		out, err string // a substring of stdout and of stderr
	}{
		{argv: []string{"dig", server, "web.test"}, out: "rcode Success\nweb.test. A 10.96.0.20\n"},
		{argv: []string{"dig", server, "version.server", "TXT", "CH"}, out: "version.server. TXT CoreDNS-1.15.0\n"},
		{argv: []string{"dig", server, "_http._tcp.web.test.", "srv"}, out: "_http._tcp.web.test. SRV 0 100 80 web-0.web.test.\n"},
		{argv: []string{"dig", server, "none.test"}, out: "rcode NameError\n"},
		{argv: []string{"dig", server, "web.test", "MX"}, code: 1, err: `record type "MX": unknown`},
		{argv: []string{"dig", server}, code: 1, err: "usage: dig"},
		{argv: []string{"dnsbench", server, "web.test", "50", "4"}, out: "queries=50 errors=0 lost=0 "},
		{argv: []string{"dnsbench", server, "none.test", "5", "1"}, out: "queries=5 errors=5 lost=0 "},
		{argv: []string{"dnsbench", closedPort(t), "web.test", "3", "1"}, out: "queries=3 errors=0 lost=3 "},
		{argv: []string{"dnsbench", server, "web.test", "0", "1"}, code: 1, err: "want 1 to 1000000"},
		{argv: []string{"nslookup", "localhost"}, out: "127.0.0.1\n"},
		{argv: []string{"nslookup", "localhost", "NS"}, code: 1, err: `record type "NS"`},
	} {
		t.Run(strings.Join(tc.argv, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.argv, stdio{strings.NewReader(""), &out, &errOut})
			if code != tc.code {
				t.Errorf("got exit code %d, want %d (stderr %q)", code, tc.code, errOut.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("got stdout %q, want %q in it", out.String(), tc.out)
			}
			if !strings.Contains(errOut.String(), tc.err) || tc.err == "" && errOut.Len() > 0 {
				t.Errorf("got stderr %q, want %q", errOut.String(), tc.err)
			}
		})
	}
}
