package controllermanager

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// taints lists a node's taints as key:effect.
func (c *cluster) taints(node string) ([]string, error) {
	n, err := c.c.CoreV1().Nodes().Get(c.ctx, node)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range n.GetSpec().GetTaints() {
		out = append(out, t.GetKey()+":"+t.GetEffect())
	}
	return out, nil
}

func TestPodsLeaveANodeThatStopsRenewingItsLease(t *testing.T) {
	c := startCluster(t, "--node-monitor-period=500ms", "--node-monitor-grace-period=3s", "--node-eviction-rate=100")
	tolerating := strings.Replace(webDeployment, "      containers:\n", `      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      containers:
`, 1)
	c.kubectl(tolerating, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	onA := func() []string {
		list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range list.GetItems() {
			if p.GetSpec().GetNodeName() == "node-a" && p.GetMetadata().GetDeletionTimestamp() == nil {
				out = append(out, p.GetMetadata().GetName())
			}
		}
		return out
	}
	if len(onA()) == 0 {
		t.Fatal("no pod landed on node-a; the test needs one there")
	}

	c.kubelet.StopRenewing("node-a")
	framework.Eventually(t, 30*time.Second, "node-a turns Unknown and is tainted", func() error {
		n, err := c.c.CoreV1().Nodes().Get(c.ctx, "node-a")
		if err != nil {
			return err
		}
		var taints []string
		for _, t := range n.GetSpec().GetTaints() {
			taints = append(taints, t.GetKey()+":"+t.GetEffect())
		}
		ready := ""
		for _, cond := range n.GetStatus().GetConditions() {
			if cond.GetType() == "Ready" {
				ready = cond.GetStatus()
			}
		}
		if ready != "Unknown" || !slices.Contains(taints, "node.kubernetes.io/unreachable:NoExecute") ||
			!slices.Contains(taints, "node.kubernetes.io/unreachable:NoSchedule") {
			return fmt.Errorf("ready %q, taints %v", ready, taints)
		}
		return nil
	})
	framework.Eventually(t, 60*time.Second, "the pods are recreated on node-b", func() error {
		if left := onA(); len(left) > 0 {
			return fmt.Errorf("still on node-a: %v", left)
		}
		out := c.kubectl("", "get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}")
		if out != "4" {
			return fmt.Errorf("available %q", out)
		}
		return nil
	})

	// The kubelet comes back: the node is untainted.
	if err := c.kubelet.Resume(c.ctx, "node-a"); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "node-a is untainted", func() error {
		taints, err := c.taints("node-a")
		if err == nil && len(taints) > 0 {
			err = fmt.Errorf("taints %v", taints)
		}
		return err
	})
}

func TestANotReadyNodeIsTaintedAndDrained(t *testing.T) {
	c := startCluster(t, "--node-monitor-period=500ms", "--node-monitor-grace-period=30s", "--node-eviction-rate=100")
	tolerating := strings.Replace(webDeployment, "      containers:\n", `      tolerations:
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      containers:
`, 1)
	c.kubectl(tolerating, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	if err := c.kubelet.ReportNotReady(c.ctx, "node-a"); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "node-a is tainted not-ready and its pods move to node-b", func() error {
		taints, err := c.taints("node-a")
		if err != nil {
			return err
		}
		if !slices.Contains(taints, "node.kubernetes.io/not-ready:NoExecute") {
			return fmt.Errorf("taints %v", taints)
		}
		list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		live := 0
		for _, p := range list.GetItems() {
			if p.GetMetadata().GetDeletionTimestamp() != nil {
				continue
			}
			if p.GetSpec().GetNodeName() == "node-a" {
				return fmt.Errorf("pod %s still on node-a", p.GetMetadata().GetName())
			}
			live++
		}
		if live != 4 {
			return fmt.Errorf("%d live pods", live)
		}
		return nil
	})
	if err := c.kubelet.Resume(c.ctx, "node-a"); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "node-a is untainted", func() error {
		taints, err := c.taints("node-a")
		if err == nil && len(taints) > 0 {
			err = fmt.Errorf("taints %v", taints)
		}
		return err
	})
}
