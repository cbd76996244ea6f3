// Package leaderelection tests pkg/leaderelection against a real
// apiserver: one leader at a time, fast hand-over on resign, hand-over
// within the lease after a crash, and the holder mirrored into a Lease.
package leaderelection

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/leaderelection"
)

// candidate is one replica with its own connection.
type candidate struct {
	name    string
	client  *client.Client
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	leading bool
	started time.Time
}

// tracker checks that at most one candidate leads at any time.
type tracker struct {
	mu      sync.Mutex
	leaders map[string]bool
	overlap bool
}

func (tr *tracker) set(name string, leading bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.leaders[name] = leading
	n := 0
	for _, l := range tr.leaders {
		if l {
			n++
		}
	}
	if n > 1 {
		tr.overlap = true
	}
}

func (tr *tracker) leader() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for name, l := range tr.leaders {
		if l {
			return name
		}
	}
	return ""
}

const lease = 3 * time.Second

func start(t *testing.T, srv *framework.APIServer, tr *tracker, name string) *candidate {
	t.Helper()
	cfg, err := client.FromKubeconfig(srv.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{name: name, client: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		_ = leaderelection.Run(ctx, leaderelection.Config{
			Conn: cl.Conn(), Election: "e2e-component", Identity: name, LeaseDuration: lease,
			OnStartedLeading: func(lctx context.Context) {
				tr.set(name, true)
				<-lctx.Done()
				tr.set(name, false)
			},
		})
	}()
	t.Cleanup(func() { cancel(); <-c.done; _ = cl.Close() })
	return c
}

func TestLeaderElection(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	tr := &tracker{leaders: map[string]bool{}}
	cands := map[string]*candidate{}
	for _, name := range []string{"a", "b", "c"} {
		cands[name] = start(t, srv, tr, name)
	}
	framework.Eventually(t, 30*time.Second, "one candidate leads", func() error {
		if tr.leader() == "" {
			return fmt.Errorf("no leader")
		}
		return nil
	})
	first := tr.leader()

	cfg, _ := client.FromKubeconfig(srv.Kubeconfig())
	observer, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	framework.Eventually(t, 10*time.Second, "the Lease in kube-system names the leader", func() error {
		l, err := observer.CoordinationV1().Leases("kube-system").Get(ctx, "e2e-component")
		if err != nil {
			return err
		}
		if l.GetSpec().GetHolderIdentity() != first {
			return fmt.Errorf("holder %q, want %q", l.GetSpec().GetHolderIdentity(), first)
		}
		return nil
	})

	// A leader that stops resigns: another takes over well within a lease.
	stopped := time.Now()
	cands[first].cancel()
	<-cands[first].done
	framework.Eventually(t, lease, "another candidate leads after a resign", func() error {
		if l := tr.leader(); l == "" || l == first {
			return fmt.Errorf("leader %q", l)
		}
		return nil
	})
	t.Logf("hand-over after resign: %v", time.Since(stopped))
	second := tr.leader()

	// A leader that dies (its connection gone, no resign) loses the lead
	// when its lease runs out, and only then does another one lead.
	crashed := time.Now()
	_ = cands[second].client.Close()
	framework.Eventually(t, 3*lease, "another candidate leads after a crash", func() error {
		if l := tr.leader(); l == "" || l == second {
			return fmt.Errorf("leader %q", l)
		}
		return nil
	})
	t.Logf("hand-over after a crash: %v (lease %v)", time.Since(crashed), lease)
	if tr.overlap {
		t.Fatal("two candidates led at the same time")
	}
}
