package controllermanager

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestTerminatingPodsOfANodeOutOfServiceGo: pods being deleted on a node
// whose kubelet is dead stay (nothing stops their containers) until an
// administrator taints the node node.kubernetes.io/out-of-service; the pod
// garbage collector then deletes them at once, as Kubernetes' does.
func TestTerminatingPodsOfANodeOutOfServiceGo(t *testing.T) {
	// A long grace period keeps the node lifecycle controller from
	// writing the pods' status: the apiserver finishes a pod's deletion on
	// any write once it has no finalizers (Kubernetes waits for the
	// kubelet), which would hide what this test looks for.
	c := startCluster(t, "--node-monitor-grace-period=10m")
	onA := strings.Replace(webDeployment, "      containers:\n", "      nodeSelector: {kubernetes.io/hostname: node-a}\n      containers:\n", 1)
	c.kubectl(onA, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")
	c.kubelet.StopRenewing("node-a")
	if err := c.kubelet.ReportNotReady(c.ctx, "node-a"); err != nil {
		t.Fatal(err)
	}
	c.kubectl("", "delete", "deployment", "web", "--cascade=foreground", "--wait=false")
	framework.Eventually(t, 30*time.Second, "the pods are terminating", func() error {
		list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		for _, p := range list.GetItems() {
			if p.GetMetadata().GetDeletionTimestamp() == nil {
				return fmt.Errorf("%s is not terminating", p.GetMetadata().GetName())
			}
		}
		return nil
	})

	c.kubectl("", "taint", "nodes", "node-a", "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute")
	c.waitCount("pods", "app=web", 0)
	c.waitCount("deployments", "app=web", 0)
}
