// Package dnsrelay passes DNS queries from one address to upstream
// resolvers byte for byte, over UDP and TCP, without reading them. The
// node image runs one on the node's own IP so that pods, which cannot
// reach a resolver bound to the node container's loopback (Docker's
// 127.0.0.11), still get the node's name resolution.
package dnsrelay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

const (
	// maxUDPMessage is the largest DNS message over UDP (EDNS can go up
	// to the UDP limit).
	maxUDPMessage = 65535
	// maxInFlight bounds the UDP queries waiting for an answer at once;
	// more are dropped, and their clients ask again.
	maxInFlight = 512
	// upstreamTimeout is how long one upstream has to answer a UDP query,
	// or to accept a TCP connection, before the next is tried.
	upstreamTimeout = 2 * time.Second
	// tcpIdle closes a TCP connection with no traffic for this long.
	tcpIdle = 30 * time.Second
)

// Relay forwards DNS traffic arriving at Listen to the first of Upstreams
// that answers. Upstreams are host:port addresses.
type Relay struct {
	Listen    string
	Upstreams []string
	log       *slog.Logger
}

// New returns a relay from listen (host:port) to upstreams (host:port).
func New(listen string, upstreams []string) (*Relay, error) {
	if len(upstreams) == 0 {
		return nil, errors.New("dns relay: no upstream resolver")
	}
	return &Relay{Listen: listen, Upstreams: upstreams, log: slog.With("component", "dns-relay", "listen", listen)}, nil
}

// Run serves until ctx ends, then closes its sockets and waits for every
// goroutine it started.
func (r *Relay) Run(ctx context.Context) error {
	pc, err := net.ListenPacket("udp", r.Listen)
	if err != nil {
		return fmt.Errorf("dns relay: listen on udp %s: %w", r.Listen, err)
	}
	ln, err := net.Listen("tcp", r.Listen)
	if err != nil {
		pc.Close()
		return fmt.Errorf("dns relay: listen on tcp %s: %w", r.Listen, err)
	}
	return r.Serve(ctx, pc, ln)
}

// Serve relays on sockets already open (Run's, or a test's) until ctx
// ends; it closes them.
func (r *Relay) Serve(ctx context.Context, pc net.PacketConn, ln net.Listener) error {
	r.log.Info("relaying DNS", "upstreams", r.Upstreams)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(3)
	go func() { defer wg.Done(); errs <- r.serveUDP(ctx, pc, &wg) }()
	go func() { defer wg.Done(); errs <- r.serveTCP(ctx, ln, &wg) }()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		pc.Close()
		ln.Close()
	}()
	first := <-errs
	if ctx.Err() == nil {
		// One side failed: stop the other.
		pc.Close()
		ln.Close()
	}
	second := <-errs
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return errors.Join(first, second)
}

// serveUDP reads queries and answers each from its own goroutine, which
// wg counts.
func (r *Relay) serveUDP(ctx context.Context, pc net.PacketConn, wg *sync.WaitGroup) error {
	slots := make(chan struct{}, maxInFlight)
	for {
		buf := make([]byte, maxUDPMessage)
		n, client, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("dns relay: read udp: %w", err)
		}
		select {
		case slots <- struct{}{}:
		default:
			r.log.Warn("too many DNS queries in flight; dropping one", "client", client.String())
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			r.answerUDP(ctx, pc, client, buf[:n])
		}()
	}
}

// answerUDP asks the upstreams in turn and writes the first answer back
// to the client.
func (r *Relay) answerUDP(ctx context.Context, pc net.PacketConn, client net.Addr, query []byte) {
	for _, up := range r.Upstreams {
		answer, err := exchangeUDP(ctx, up, query)
		if err != nil {
			r.log.Debug("upstream did not answer", "upstream", up, "err", err)
			continue
		}
		if _, err := pc.WriteTo(answer, client); err != nil && ctx.Err() == nil {
			r.log.Debug("answer to client failed", "client", client.String(), "err", err)
		}
		return
	}
}

// exchangeUDP sends query to upstream on a socket of its own and reads
// one answer.
func exchangeUDP(ctx context.Context, upstream string, query []byte) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", upstream)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", upstream, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.SetDeadline(time.Now().Add(upstreamTimeout)); err != nil {
		return nil, err
	}
	if _, err := c.Write(query); err != nil {
		return nil, fmt.Errorf("send to %s: %w", upstream, err)
	}
	buf := make([]byte, maxUDPMessage)
	n, err := c.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("read from %s: %w", upstream, err)
	}
	return buf[:n], nil
}

// serveTCP accepts connections and pipes each to an upstream from its own
// goroutine, which wg counts.
func (r *Relay) serveTCP(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("dns relay: accept tcp: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pipeTCP(ctx, c)
		}()
	}
}

// pipeTCP copies a client connection to the first upstream that accepts
// one, both ways, until either side closes, goes idle, or ctx ends.
func (r *Relay) pipeTCP(ctx context.Context, client net.Conn) {
	defer client.Close()
	up, err := r.dialTCP(ctx)
	if err != nil {
		r.log.Debug("no upstream accepted a TCP connection", "err", err)
		return
	}
	defer up.Close()
	stop := context.AfterFunc(ctx, func() { client.Close(); up.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyIdle(up, client)
		up.Close()
	}()
	copyIdle(client, up)
	client.Close()
	<-done
}

func (r *Relay) dialTCP(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: upstreamTimeout}
	var errs []error
	for _, up := range r.Upstreams {
		c, err := d.DialContext(ctx, "tcp", up)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// copyIdle copies src to dst, giving up when src is idle for tcpIdle.
func copyIdle(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		_ = src.SetReadDeadline(time.Now().Add(tcpIdle))
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF, the idle deadline, or a closed connection
		}
	}
}
