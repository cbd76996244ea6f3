package cloudcontroller

import (
	"fmt"
	"testing"

	"skiff.dev/e2e/framework"
)

// TestTwoReplicasHandOver runs two cloud-controllers: one leads, and when
// it stops the other takes over the Lease and goes on without handing out
// the addresses in use again.
func TestTwoReplicasHandOver(t *testing.T) {
	e := setup(t)
	cfg := e.file("cloud.yaml", "loadBalancerPool: [10.220.0.0/29]\n")
	replicas := map[string]*framework.Process{}
	metrics := map[string]string{}
	for _, id := range []string{"cc-a", "cc-b"} {
		var serve []string
		metrics[id], serve = framework.SecurePort(t)
		replicas[id] = framework.StartCloudController(t, e.srv, append(serve, "--cloud-config", cfg, "--leader-elect-identity", id,
			"--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "1s")...)
	}
	holder := func() (string, error) {
		l, err := e.c.CoordinationV1().Leases("kube-system").Get(e.ctx, "cloud-controller-manager")
		if err != nil {
			return "", err
		}
		return l.GetSpec().GetHolderIdentity(), nil
	}
	var leader string
	framework.Eventually(t, wait, "one replica leads", func() (err error) {
		if leader, err = holder(); err == nil && leader == "" {
			err = fmt.Errorf("no holder")
		}
		return err
	})
	standby := map[string]string{"cc-a": "cc-b", "cc-b": "cc-a"}[leader]

	e.createLB("a")
	e.createLB("b")
	a, b := e.waitIngress("a"), e.waitIngress("b")
	if a == b {
		t.Fatalf("a and b share %s", a)
	}
	if n := framework.MetricSum(e.srv, metrics[standby], "controller_reconcile_total"); n != 0 {
		t.Fatalf("the standby %s reconciled %v times", standby, n)
	}

	replicas[leader].Stop()
	framework.Eventually(t, wait, "the standby leads", func() error {
		h, err := holder()
		if err == nil && h != standby {
			err = fmt.Errorf("holder %q", h)
		}
		return err
	})
	e.createLB("c")
	c := e.waitIngress("c")
	if c == a || c == b {
		t.Fatalf("the new leader gave c %s, which a (%s) or b (%s) holds", c, a, b)
	}
	if got := e.ingress("a") + " " + e.ingress("b"); got != a+" "+b {
		t.Fatalf("addresses after the hand-over: got %s, want %s %s", got, a, b)
	}
	// The new leader releases too.
	e.kubectl("", "delete", "service", "a", "--wait=false")
	e.waitGone("a")
	if n := framework.MetricSum(e.srv, metrics[standby], "controller_reconcile_total"); n <= 0 {
		t.Fatalf("the new leader %s reconciled %v times", standby, n)
	}
}
