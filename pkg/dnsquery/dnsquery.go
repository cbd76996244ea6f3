// Package dnsquery asks a DNS server one question over a connection the
// caller dialled and renders the answers' data the way dig prints them.
// It is the small client the toolbox's dig and dnsbench applets and the
// cluster DNS tests share; name resolution as programs do it is Go's
// net.Resolver, not this.
package dnsquery

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Timeout is how long Exchange waits for an answer.
const Timeout = 5 * time.Second

// Exchange sends q (recursion desired) with id over conn and returns the
// response carrying that id, skipping stale responses to other queries.
// It fails if none arrives within Timeout.
func Exchange(conn net.Conn, id uint16, q dnsmessage.Question) (*dnsmessage.Message, error) {
	msg := dnsmessage.Message{Header: dnsmessage.Header{ID: id, RecursionDesired: true}, Questions: []dnsmessage.Question{q}}
	packet, err := msg.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack the query for %s: %w", q.Name, err)
	}
	if err := conn.SetDeadline(time.Now().Add(Timeout)); err != nil {
		return nil, fmt.Errorf("set the query's deadline: %w", err)
	}
	if _, err := conn.Write(packet); err != nil {
		return nil, fmt.Errorf("send the query for %s: %w", q.Name, err)
	}
	buf := make([]byte, 65535)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("read the response for %s: %w", q.Name, err)
		}
		var resp dnsmessage.Message
		if err := resp.Unpack(buf[:n]); err != nil {
			return nil, fmt.Errorf("unpack the response for %s: %w", q.Name, err)
		}
		if resp.ID == id {
			return &resp, nil
		}
	}
}

// TypeName is a record type as dig prints it: "A", "SRV".
func TypeName(t dnsmessage.Type) string {
	return strings.TrimPrefix(t.String(), "Type")
}

// Data is a record's data as dig prints it: an address, a name, SRV's
// "PRIORITY WEIGHT PORT TARGET", TXT's strings joined by spaces.
func Data(body dnsmessage.ResourceBody) string {
	switch b := body.(type) {
	case *dnsmessage.AResource:
		return netip.AddrFrom4(b.A).String()
	case *dnsmessage.AAAAResource:
		return netip.AddrFrom16(b.AAAA).String()
	case *dnsmessage.CNAMEResource:
		return b.CNAME.String()
	case *dnsmessage.PTRResource:
		return b.PTR.String()
	case *dnsmessage.NSResource:
		return b.NS.String()
	case *dnsmessage.SRVResource:
		return fmt.Sprintf("%d %d %d %s", b.Priority, b.Weight, b.Port, b.Target)
	case *dnsmessage.TXTResource:
		return strings.Join(b.TXT, " ")
	}
	return body.GoString()
}
