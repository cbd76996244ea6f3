package controllermanager

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

func TestTwoReplicasOneActsAndHandOver(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	replicas := map[string]*framework.Process{}
	addrs := map[string]string{}
	for _, id := range []string{"cm-a", "cm-b"} {
		var serve []string
		addrs[id], serve = framework.SecurePort(t)
		replicas[id] = framework.StartControllerManager(t, srv, append(serve, "--leader-elect-identity", id,
			"--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "1s")...)
	}
	e := setupClient(t, srv)
	framework.StartScheduler(t, srv, "--leader-elect=false")
	framework.StartStandInKubelet(t, e.c, "node-a", "node-b")
	c := &cluster{env: e}

	var leader string
	framework.Eventually(t, 30*time.Second, "one replica leads", func() error {
		l, err := e.c.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-controller-manager")
		if err != nil {
			return err
		}
		if leader = l.GetSpec().GetHolderIdentity(); leader == "" {
			return fmt.Errorf("no holder")
		}
		return nil
	})
	standby := "cm-a"
	if leader == "cm-a" {
		standby = "cm-b"
	}
	c.kubectl(webDeployment, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	if n := framework.MetricSum(srv, addrs[leader], "controller_reconcile_total"); n <= 0 {
		t.Fatalf("the leader %s reconciled %v times", leader, n)
	}
	if n := framework.MetricSum(srv, addrs[standby], "controller_reconcile_total"); n != 0 {
		t.Fatalf("the standby %s reconciled %v times", standby, n)
	}

	// Kill the leader and create a deployment while nobody leads.
	replicas[leader].Kill()
	c.kubectl(strings.ReplaceAll(webDeployment, "web", "api"), "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/api", "--timeout=90s")
	if n := framework.MetricSum(srv, addrs[standby], "controller_reconcile_total"); n <= 0 {
		t.Fatalf("the new leader %s reconciled %v times", standby, n)
	}
	list, err := e.c.CoreV1().Pods("default").List(e.ctx, client.ListOptions{LabelSelector: "app=api"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetItems()) != 4 {
		t.Fatalf("%d api pods, want 4", len(list.GetItems()))
	}
}
