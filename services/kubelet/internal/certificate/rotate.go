package certificate

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"skiff.dev/pkg/csr"
)

// rotationWait is how long a renewal waits for its certificate before it
// asks again.
const rotationWait = 15 * time.Minute

// Rotator renews the kubelet's client certificate before it expires.
type Rotator struct {
	Store    *Store
	NodeName string
	// Requests creates and reads certificate signing requests as the
	// kubelet's current identity.
	Requests csr.Requests
	// Rotated is called once a new certificate is current: the
	// connections made with the old one are closed.
	Rotated func()

	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) bool
	// fraction is where in the certificate's lifetime it is renewed.
	fraction func() float64
}

// Deadline is when a certificate is renewed: after 70 to 90 percent of its
// lifetime, at random, so nodes that joined together do not all renew
// together (client-go's certificate manager's jitter).
func (r *Rotator) Deadline(cert *tls.Certificate) time.Time {
	frac := 0.7 + 0.2*rand.Float64()
	if r.fraction != nil {
		frac = r.fraction()
	}
	total := cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore)
	return cert.Leaf.NotBefore.Add(time.Duration(float64(total) * frac))
}

// Run renews the current certificate whenever its deadline comes, until
// ctx ends; a failed renewal is tried again with back-off (2s doubling to
// 32s), as long as it takes.
func (r *Rotator) Run(ctx context.Context) {
	now, sleep := r.now, r.sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	for ctx.Err() == nil {
		cur, err := r.Store.Current()
		if err != nil {
			slog.WarnContext(ctx, "no client certificate to rotate", "path", r.Store.CurrentPath(), "err", err)
			return
		}
		deadline := r.Deadline(cur)
		slog.InfoContext(ctx, "client certificate rotation planned", "expires", cur.Leaf.NotAfter, "deadline", deadline)
		if !sleep(ctx, deadline.Sub(now())) {
			return
		}
		for backoff := 2 * time.Second; ; backoff = min(2*backoff, 32*time.Second) {
			err := r.rotate(ctx)
			if err == nil {
				break
			}
			slog.WarnContext(ctx, "rotating the client certificate", "err", err, "retry in", backoff)
			if !sleep(ctx, backoff) {
				return
			}
		}
	}
}

// rotate asks for a certificate for a new key and makes it current.
func (r *Rotator) rotate(ctx context.Context) error {
	key, keyPEM, err := newKey()
	if err != nil {
		return err
	}
	certPEM, err := requestClientCertificate(ctx, r.Requests, key, r.NodeName, false, rotationWait)
	if err != nil {
		return err
	}
	pair, err := r.Store.Update(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("store the new client certificate: %w", err)
	}
	slog.InfoContext(ctx, "client certificate rotated", "expires", pair.Leaf.NotAfter)
	if r.Rotated != nil {
		r.Rotated()
	}
	return nil
}

// sleepCtx waits d (nothing when d is not positive); false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Dialer makes TCP connections and remembers them, so that they can all
// be closed when the certificate they were authenticated with is replaced
// (TLS shows the client certificate once, at the handshake): the gRPC
// client then connects again with the new one.
type Dialer struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

// DialContext dials addr over TCP (the signature of grpc.WithContextDialer).
func (d *Dialer) DialContext(ctx context.Context, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, d: d}
	d.mu.Lock()
	if d.conns == nil {
		d.conns = map[*trackedConn]struct{}{}
	}
	d.conns[tc] = struct{}{}
	d.mu.Unlock()
	return tc, nil
}

// CloseAll closes every connection still open.
func (d *Dialer) CloseAll() {
	d.mu.Lock()
	conns := d.conns
	d.conns = nil
	d.mu.Unlock()
	for c := range conns {
		_ = c.Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	d    *Dialer
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.d.mu.Lock()
		delete(c.d.conns, c)
		c.d.mu.Unlock()
	})
	return c.Conn.Close()
}
