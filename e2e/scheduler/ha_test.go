package scheduler

import (
	"fmt"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// leaseHolder is who the kube-scheduler Lease names.
func (e *env) leaseHolder() string {
	l, err := e.c.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-scheduler")
	if err != nil {
		return ""
	}
	return l.GetSpec().GetHolderIdentity()
}

func TestTwoReplicasHandOver(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts) // no controller-manager
	replicas := map[string]*framework.Process{}
	for _, id := range []string{"sched-a", "sched-b"} {
		replicas[id] = framework.StartScheduler(t, srv, "--leader-elect-identity", id, "--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "1s")
	}
	cfg, err := client.FromKubeconfig(srv.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := &env{t: t, c: c}
	var cancel func()
	e.ctx, cancel = contextWithTimeout(3 * time.Minute)
	defer cancel()
	e.node("n1", "100", nil)

	var leader string
	framework.Eventually(t, 30*time.Second, "one replica leads", func() error {
		if leader = e.leaseHolder(); leader == "" {
			return fmt.Errorf("no holder yet")
		}
		return nil
	})
	e.pod("first")
	e.nodeOf("first")

	// A graceful stop hands over quickly.
	stopped := time.Now()
	replicas[leader].Stop()
	framework.Eventually(t, 10*time.Second, "the other replica leads", func() error {
		if h := e.leaseHolder(); h == "" || h == leader {
			return fmt.Errorf("holder %q", h)
		}
		return nil
	})
	t.Logf("hand-over after a graceful stop: %v", time.Since(stopped))
	e.pod("second")
	e.nodeOf("second")

	// Pods created while the leader dies are scheduled by the next one,
	// each bound exactly once.
	next := e.leaseHolder()
	for i := 0; i < 20; i++ {
		e.pod(fmt.Sprintf("burst-%d", i))
	}
	killed := time.Now()
	replicas[next].Kill()
	replicas[next] = startAgain(t, srv, next)
	for i := 0; i < 20; i++ {
		e.nodeOf(fmt.Sprintf("burst-%d", i))
	}
	t.Logf("all pods bound %v after the leader was killed", time.Since(killed))
	events, err := c.CoreV1().Events("default").List(e.ctx, client.ListOptions{FieldSelector: "reason=Scheduled"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range events.GetItems() {
		seen[ev.GetInvolvedObject().GetName()]++
	}
	for name, n := range seen {
		if n > 1 {
			t.Errorf("pod %s was bound %d times", name, n)
		}
	}
}

func startAgain(t *testing.T, srv *framework.APIServer, id string) *framework.Process {
	return framework.StartScheduler(t, srv, "--leader-elect-identity", id, "--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "1s")
}
