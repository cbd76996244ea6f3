// Package leaderelection runs a component's leader-only work on exactly
// one of its replicas, through the apiserver's election service. A leader
// that resigns hands over at once; a leader that cannot renew its lease
// stops acting before the lease can expire in etcd, so no other replica
// leads while it still acts.
package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	electionv1 "skiff.dev/api/election/v1"
	"skiff.dev/pkg/clock"
)

// Config describes one candidate.
type Config struct {
	// Conn reaches an apiserver (pkg/client's Client.Conn()).
	Conn grpc.ClientConnInterface
	// Election names the election and its mirrored Lease, in Namespace
	// (empty: kube-system).
	Election  string
	Namespace string
	// Identity names this candidate (hostname plus a unique suffix).
	Identity string
	// LeaseDuration is how long a silent leader keeps the lead (default 5s).
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps acting without a
	// successful renewal (Kubernetes' renewDeadline); it must be shorter
	// than LeaseDuration. Zero: until just before the lease could expire.
	RenewDeadline time.Duration
	// RetryPeriod is how often the lease is renewed, and how long a
	// candidate waits before trying again after a failed term (Kubernetes'
	// retryPeriod). Zero: a third of LeaseDuration.
	RetryPeriod time.Duration
	// OnStartedLeading runs while this candidate leads; its context ends
	// when leadership ends. It must return soon after.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading runs after OnStartedLeading has returned.
	OnStoppedLeading func()
	Clock            clock.Clock
}

func (c *Config) validate() error {
	switch {
	case c.Conn == nil:
		return errors.New("leaderelection: no connection")
	case c.Election == "" || c.Identity == "":
		return errors.New("leaderelection: election and identity are required")
	case c.OnStartedLeading == nil:
		return errors.New("leaderelection: OnStartedLeading is required")
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 5 * time.Second
	}
	if c.LeaseDuration < 2*time.Second {
		return fmt.Errorf("leaderelection: lease duration %v is under the 2s etcd allows", c.LeaseDuration)
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = c.LeaseDuration / 3
	}
	if err := CheckTimes(c.LeaseDuration, c.RenewDeadline, c.RetryPeriod); err != nil {
		return fmt.Errorf("leaderelection: %w", err)
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return nil
}

// JitterFactor is how much longer than RetryPeriod the renew deadline
// must be at least, as in Kubernetes' leader election.
const JitterFactor = 1.2

// CheckTimes checks a renew deadline (zero: none) and retry period
// against the lease duration, with Kubernetes' rules: the lease outlasts
// the renew deadline, which outlasts the retry period with jitter.
func CheckTimes(lease, renew, retry time.Duration) error {
	switch {
	case retry <= 0:
		return fmt.Errorf("retry period %v must be greater than zero", retry)
	case renew < 0:
		return fmt.Errorf("renew deadline %v must not be negative", renew)
	case renew == 0:
		if retry >= lease {
			return fmt.Errorf("retry period %v must be less than the lease duration %v", retry, lease)
		}
	case renew >= lease:
		return fmt.Errorf("renew deadline %v must be less than the lease duration %v", renew, lease)
	case float64(renew) <= JitterFactor*float64(retry):
		return fmt.Errorf("renew deadline %v must be greater than the retry period %v times %v", renew, retry, JitterFactor)
	}
	return nil
}

// Run campaigns, leads, and campaigns again after losing the lead, until
// ctx ends; then it resigns and returns nil.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	svc := electionv1.NewElectionServiceClient(cfg.Conn)
	for ctx.Err() == nil {
		if err := term(ctx, svc, cfg); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "leader election term ended", "election", cfg.Election, "identity", cfg.Identity, "err", err)
			select {
			case <-ctx.Done():
			case <-cfg.Clock.After(cfg.RetryPeriod):
			}
		}
	}
	return nil
}

// term is one lease: grant, campaign, lead until the lease is lost or ctx
// ends.
func term(ctx context.Context, svc electionv1.ElectionServiceClient, cfg Config) error {
	seconds := int64((cfg.LeaseDuration + time.Second - 1) / time.Second)
	granted, err := svc.Grant(ctx, &electionv1.GrantRequest{LeaseSeconds: seconds, Namespace: cfg.Namespace})
	if err != nil {
		return fmt.Errorf("grant lease: %w", err)
	}
	lease := granted.GetLeaseId()
	resign := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.LeaseDuration)
		defer cancel()
		_, _ = svc.Resign(rctx, &electionv1.ResignRequest{Election: cfg.Election, LeaseId: lease, Namespace: cfg.Namespace})
	}

	// The lease is renewed from the start, while campaigning too. lost is
	// closed when a renewal fails or the local deadline passes.
	k := &keeper{svc: svc, cfg: cfg, lease: lease, lost: make(chan struct{}),
		deadline: cfg.stopAt(cfg.Clock.Now(), seconds)}
	kctx, stopKeeper := context.WithCancel(ctx)
	keeperDone := make(chan struct{})
	go func() { defer close(keeperDone); k.run(kctx) }()
	defer func() { stopKeeper(); <-keeperDone }()

	cctx, stopCampaign := context.WithCancel(ctx)
	go func() {
		select {
		case <-k.lost:
			stopCampaign()
		case <-cctx.Done():
		}
	}()
	_, err = svc.Campaign(cctx, &electionv1.CampaignRequest{Election: cfg.Election, Identity: cfg.Identity, LeaseId: lease, Namespace: cfg.Namespace})
	stopCampaign()
	if err != nil {
		resign()
		return fmt.Errorf("campaign: %w", err)
	}
	slog.InfoContext(ctx, "started leading", "election", cfg.Election, "identity", cfg.Identity)
	lctx, stopLeading := context.WithCancel(ctx)
	led := make(chan struct{})
	go func() {
		defer close(led)
		cfg.OnStartedLeading(lctx)
	}()
	var cause error
	select {
	case <-ctx.Done():
	case <-k.lost:
		cause = errors.New("lease lost")
	case <-led:
	}
	stopLeading()
	<-led
	resign()
	if cfg.OnStoppedLeading != nil {
		cfg.OnStoppedLeading()
	}
	slog.InfoContext(ctx, "stopped leading", "election", cfg.Election, "identity", cfg.Identity)
	return cause
}

// margin is how much earlier than the lease's expiry a leader stops: its
// clock and etcd's may run apart.
func margin(lease time.Duration) time.Duration {
	return min(time.Second, lease/5)
}

// stopAt is when a leader whose lease had ttl seconds left at sent stops
// acting: before the lease could expire, and by the renew deadline.
func (c Config) stopAt(sent time.Time, ttl int64) time.Time {
	at := sent.Add(time.Duration(ttl)*time.Second - margin(c.LeaseDuration))
	if c.RenewDeadline > 0 && sent.Add(c.RenewDeadline).Before(at) {
		at = sent.Add(c.RenewDeadline)
	}
	return at
}

// keeper renews one lease.
type keeper struct {
	svc      electionv1.ElectionServiceClient
	cfg      Config
	lease    int64
	deadline time.Time // stop acting at this time unless renewed
	lost     chan struct{}
}

func (k *keeper) run(ctx context.Context) {
	defer close(k.lost)
	interval := k.cfg.RetryPeriod
	for {
		wait := min(interval, k.deadline.Sub(k.cfg.Clock.Now()))
		if wait <= 0 {
			return // the deadline passed without a renewal
		}
		select {
		case <-ctx.Done():
			return
		case <-k.cfg.Clock.After(wait):
		}
		if !k.deadline.After(k.cfg.Clock.Now()) {
			return
		}
		sent := k.cfg.Clock.Now()
		rctx, cancel := context.WithDeadline(ctx, k.deadline)
		resp, err := k.svc.KeepAlive(rctx, &electionv1.KeepAliveRequest{LeaseId: k.lease, Election: k.cfg.Election, Identity: k.cfg.Identity, Namespace: k.cfg.Namespace})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if status.Code(err) == codes.NotFound {
				return // the lease is gone
			}
			slog.DebugContext(ctx, "lease renewal failed", "election", k.cfg.Election, "err", err)
			continue // retry until the deadline
		}
		if resp.GetTtlSeconds() <= 0 {
			return
		}
		// etcd counts the new TTL from when it received the renewal, which
		// is after sent: stopping at sent+TTL-margin is always early enough.
		k.deadline = k.cfg.stopAt(sent, resp.GetTtlSeconds())
	}
}
