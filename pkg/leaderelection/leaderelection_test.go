package leaderelection

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	electionv1 "skiff.dev/api/election/v1"
	"skiff.dev/pkg/clock"
)

func TestCheckTimes(t *testing.T) {
	for _, tc := range []struct {
		name                string
		lease, renew, retry time.Duration
		wantErr             string
	}{
		{"Kubernetes' defaults", 15 * time.Second, 10 * time.Second, 2 * time.Second, ""},
		{"no renew deadline", 5 * time.Second, 0, 5 * time.Second / 3, ""},
		{"renew deadline equal to the lease", 10 * time.Second, 10 * time.Second, 2 * time.Second, "renew deadline 10s must be less than the lease duration 10s"},
		{"renew deadline within the jitter", 15 * time.Second, 2400 * time.Millisecond, 2 * time.Second, "must be greater than the retry period 2s times 1.2"},
		{"no retry period", 15 * time.Second, 10 * time.Second, 0, "retry period 0s must be greater than zero"},
		{"negative renew deadline", 15 * time.Second, -time.Second, 2 * time.Second, "must not be negative"},
		{"retry period past the lease", 3 * time.Second, 0, 3 * time.Second, "retry period 3s must be less than the lease duration 3s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTimes(tc.lease, tc.renew, tc.retry)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// renewals answers KeepAlive with ttl, or Unavailable when ttl is zero.
type renewals struct {
	electionv1.ElectionServiceClient
	ttl   int64
	calls chan struct{}
}

func (r renewals) KeepAlive(context.Context, *electionv1.KeepAliveRequest, ...grpc.CallOption) (*electionv1.KeepAliveResponse, error) {
	r.calls <- struct{}{}
	if r.ttl == 0 {
		return nil, status.Error(codes.Unavailable, "apiserver unreachable")
	}
	return &electionv1.KeepAliveResponse{TtlSeconds: r.ttl}, nil
}

// TestKeeperStopsAtRenewDeadline: a leader whose renewals fail stops
// acting once the renew deadline has passed since its last renewal (or,
// without one, just before the lease could expire), renewing every retry
// period meanwhile; one whose renewals succeed keeps leading.
func TestKeeperStopsAtRenewDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		renew    time.Duration
		ttl      int64         // the renewals' answer; 0 fails them
		wantLost time.Duration // 0: still leading after a minute
	}{
		{"renew deadline", 10 * time.Second, 0, 10 * time.Second},
		{"no renew deadline: the lease less the margin", 0, 0, 14 * time.Second},
		{"renewals succeed", 10 * time.Second, 15, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := clock.NewFake(time.Unix(1000, 0))
			cfg := Config{Conn: &grpc.ClientConn{}, Election: "e", Identity: "me", OnStartedLeading: func(context.Context) {},
				LeaseDuration: 15 * time.Second, RenewDeadline: tc.renew, RetryPeriod: 2 * time.Second, Clock: fake}
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			svc := renewals{ttl: tc.ttl, calls: make(chan struct{}, 100)}
			k := &keeper{svc: svc, cfg: cfg, lease: 1, lost: make(chan struct{}), deadline: cfg.stopAt(fake.Now(), 15)}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); k.run(ctx) }()
			defer func() { cancel(); <-done }()

			start := fake.Now()
			for fake.Now().Sub(start) < time.Minute {
				if !waitFor(t, func() bool { return fake.Waiters() == 1 || closed(k.lost) }) {
					t.Fatal("the keeper neither waits nor stops")
				}
				if closed(k.lost) {
					break
				}
				fake.Step(time.Second)
			}
			elapsed := fake.Now().Sub(start)
			switch {
			case tc.wantLost == 0 && closed(k.lost):
				t.Errorf("stopped leading after %v with renewals succeeding", elapsed)
			case tc.wantLost != 0 && (!closed(k.lost) || elapsed != tc.wantLost):
				t.Errorf("stopped leading: %v after %v, want after %v", closed(k.lost), elapsed, tc.wantLost)
			}
			// Failing renewals are retried every retry period until the end.
			if want := int(tc.wantLost/cfg.RetryPeriod) - 1; tc.wantLost != 0 && len(svc.calls) != want {
				t.Errorf("renewals tried: %d, want %d", len(svc.calls), want)
			}
		})
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitFor polls cond for up to five seconds of real time.
func waitFor(t *testing.T, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
