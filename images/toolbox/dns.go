package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"skiff.dev/pkg/dnsquery"
)

// nslookup resolves NAME as a program in the pod would, through the pod's
// /etc/resolv.conf (nameservers, search paths, ndots) with Go's own
// resolver, and prints the answers of TYPE one a line: addresses for A
// (the default), the canonical name for CNAME, "PRIORITY WEIGHT PORT
// TARGET" for SRV, the strings for TXT, the names for PTR (NAME is an
// address).
func nslookup(std stdio, args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return errors.New("usage: nslookup NAME [A|CNAME|SRV|TXT|PTR]")
	}
	typ := "A"
	if len(args) == 2 {
		typ = strings.ToUpper(args[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), dnsquery.Timeout)
	defer cancel()
	lines, err := lookup(ctx, &net.Resolver{PreferGo: true}, args[0], typ)
	if err != nil {
		return err
	}
	return say(std.out, lines...)
}

// lookup asks r for name's records of typ, as lines.
func lookup(ctx context.Context, r *net.Resolver, name, typ string) ([]string, error) {
	switch typ {
	case "A":
		ips, err := r.LookupIP(ctx, "ip4", name)
		lines := make([]string, len(ips))
		for i, ip := range ips {
			lines[i] = ip.String()
		}
		slices.Sort(lines)
		return lines, err
	case "CNAME":
		cname, err := r.LookupCNAME(ctx, name)
		return []string{cname}, err
	case "SRV":
		_, srvs, err := r.LookupSRV(ctx, "", "", name)
		lines := make([]string, len(srvs))
		for i, s := range srvs {
			lines[i] = fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target)
		}
		slices.Sort(lines)
		return lines, err
	case "TXT":
		return r.LookupTXT(ctx, name)
	case "PTR":
		return r.LookupAddr(ctx, name)
	}
	return nil, fmt.Errorf("record type %q: want A, CNAME, SRV, TXT or PTR", typ)
}

// dig sends one query for NAME of TYPE (A by default) and CLASS (IN, or
// CH for the server's own names such as version.server) to the server at
// SERVER (an address, port 53 unless given), over UDP, without search
// paths, and prints the answer section as "NAME TYPE DATA" lines, after a
// line with the response code.
func dig(std stdio, args []string) error {
	if len(args) < 2 || len(args) > 4 {
		return errors.New("usage: dig SERVER NAME [TYPE [IN|CH]]")
	}
	q, err := question(args[1:])
	if err != nil {
		return err
	}
	conn, err := net.Dial("udp", serverAddr(args[0]))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := dnsquery.Exchange(conn, 1, q)
	if err != nil {
		return err
	}
	lines := []string{"rcode " + strings.TrimPrefix(resp.RCode.String(), "RCode")}
	for _, rr := range resp.Answers {
		lines = append(lines, fmt.Sprintf("%s %s %s", rr.Header.Name, dnsquery.TypeName(rr.Header.Type), dnsquery.Data(rr.Body)))
	}
	return say(std.out, lines...)
}

// question is the question of dig's NAME [TYPE [CLASS]].
func question(args []string) (dnsmessage.Question, error) {
	name, err := dnsmessage.NewName(strings.TrimSuffix(args[0], ".") + ".")
	if err != nil {
		return dnsmessage.Question{}, fmt.Errorf("name %q: %w", args[0], err)
	}
	q := dnsmessage.Question{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	if len(args) > 1 {
		types := map[string]dnsmessage.Type{"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "CNAME": dnsmessage.TypeCNAME,
			"SRV": dnsmessage.TypeSRV, "TXT": dnsmessage.TypeTXT, "PTR": dnsmessage.TypePTR, "NS": dnsmessage.TypeNS, "SOA": dnsmessage.TypeSOA}
		t, ok := types[strings.ToUpper(args[1])]
		if !ok {
			return q, fmt.Errorf("record type %q: unknown", args[1])
		}
		q.Type = t
	}
	if len(args) > 2 {
		switch strings.ToUpper(args[2]) {
		case "IN":
		case "CH":
			q.Class = dnsmessage.ClassCHAOS
		default:
			return q, fmt.Errorf("class %q: want IN or CH", args[2])
		}
	}
	return q, nil
}

// serverAddr is host:port of a server given as an address, with port 53
// unless it names one.
func serverAddr(s string) string {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String()
	}
	return net.JoinHostPort(s, "53")
}

// dnsbench sends QUERIES queries for NAME of TYPE (A by default) to
// SERVER from CONCURRENCY clients, each with its own UDP socket and one
// query in flight, and prints the rate and latencies:
// "queries=N errors=N lost=N seconds=S qps=Q p50_ms=X p99_ms=Y". errors
// counts answers with an error code, lost the queries no answer came for
// within dnsquery.Timeout (or whose socket failed).
func dnsbench(std stdio, args []string) error {
	if len(args) < 4 || len(args) > 5 {
		return errors.New("usage: dnsbench SERVER NAME QUERIES CONCURRENCY [TYPE]")
	}
	queries, err1 := strconv.Atoi(args[2])
	clients, err2 := strconv.Atoi(args[3])
	if err1 != nil || err2 != nil || queries < 1 || clients < 1 || queries > 1_000_000 || clients > 256 {
		return fmt.Errorf("queries %q and concurrency %q: want 1 to 1000000 and 1 to 256", args[2], args[3])
	}
	q, err := question(append([]string{args[1]}, args[4:]...))
	if err != nil {
		return err
	}
	start := time.Now()
	r := benchQueries(serverAddr(args[0]), q, queries, clients)
	elapsed := time.Since(start)
	slices.Sort(r.latencies)
	return say(std.out, fmt.Sprintf("queries=%d errors=%d lost=%d seconds=%.3f qps=%.0f p50_ms=%.3f p99_ms=%.3f",
		queries, r.errors, r.lost, elapsed.Seconds(), float64(len(r.latencies))/elapsed.Seconds(),
		ms(percentile(r.latencies, 0.50)), ms(percentile(r.latencies, 0.99))))
}

// benchResult is what dnsbench's clients saw: the latencies of the
// successful answers, the count of error answers and of lost queries.
type benchResult struct {
	latencies    []time.Duration
	errors, lost int
}

// add counts o's queries in r.
func (r *benchResult) add(o benchResult) {
	r.latencies = append(r.latencies, o.latencies...)
	r.errors += o.errors
	r.lost += o.lost
}

// benchQueries runs dnsbench's clients and sums what they saw.
func benchQueries(server string, q dnsmessage.Question, queries, clients int) benchResult {
	var mu sync.Mutex
	var total benchResult
	var wg sync.WaitGroup
	for c := range clients {
		n := queries / clients
		if c < queries%clients {
			n++
		}
		wg.Go(func() {
			own := benchClient(server, q, n)
			mu.Lock()
			defer mu.Unlock()
			total.add(own)
		})
	}
	wg.Wait()
	return total
}

// benchClient sends n queries one after the other on a socket of its own.
func benchClient(server string, q dnsmessage.Question, n int) benchResult {
	conn, err := net.Dial("udp", server)
	if err != nil {
		return benchResult{lost: n}
	}
	defer conn.Close()
	var r benchResult
	for i := range n {
		t := time.Now()
		resp, err := dnsquery.Exchange(conn, uint16(i), q)
		switch {
		case err != nil:
			r.lost++
		case resp.RCode != dnsmessage.RCodeSuccess:
			r.errors++
		default:
			r.latencies = append(r.latencies, time.Since(t))
		}
	}
	return r
}

// percentile is the p-th of sorted durations (nearest rank), 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
