package controllermanager

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// createNode creates a Node with no kubelet behind it; podCIDR may be "".
func (e *env) createNode(name, podCIDR string) {
	e.t.Helper()
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}, Spec: &corev1.NodeSpec{PodCidr: podCIDR}}
	if podCIDR != "" {
		n.Spec.PodCidrs = []string{podCIDR}
	}
	if _, err := e.c.CoreV1().Nodes().Create(e.ctx, n, client.WriteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// waitPodCIDR waits until a Node has a pod CIDR (podCIDR and podCIDRs
// agreeing) and returns it.
func (e *env) waitPodCIDR(name string) string {
	e.t.Helper()
	var got string
	framework.Eventually(e.t, 30*time.Second, name+" gets a pod CIDR", func() error {
		n, err := e.c.CoreV1().Nodes().Get(e.ctx, name)
		if err != nil {
			return err
		}
		got = n.GetSpec().GetPodCidr()
		if got == "" || !slices.Equal(n.GetSpec().GetPodCidrs(), []string{got}) {
			return fmt.Errorf("podCIDR %q, podCIDRs %v", got, n.GetSpec().GetPodCidrs())
		}
		return nil
	})
	return got
}

func TestNodesGetDistinctPodCIDRsFromTheClusterCIDR(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	// Four /24s; the node lifecycle controller marks the kubelet-less
	// Nodes Unknown and taints them meanwhile, writing the same Nodes.
	flags := []string{"--leader-elect=false", "--allocate-node-cidrs", "--cluster-cidr=10.244.0.0/22", "--node-cidr-mask-size=24",
		"--node-monitor-period=200ms", "--node-monitor-grace-period=1s"}
	cm := framework.StartControllerManager(t, srv, flags...)
	e := setupClient(t, srv)
	cluster := netip.MustParsePrefix("10.244.0.0/22")
	inCluster := func(name, cidr string) {
		t.Helper()
		p, err := netip.ParsePrefix(cidr)
		if err != nil || p.Bits() != 24 || !cluster.Contains(p.Addr()) {
			t.Fatalf("%s: pod CIDR %q, want a /24 of %s", name, cidr, cluster)
		}
	}

	e.createNode("node-1", "")
	e.createNode("node-2", "")
	e.createNode("elsewhere", "192.168.7.0/24")
	owner := map[string]string{} // pod CIDR → node
	for _, name := range []string{"node-1", "node-2"} {
		cidr := e.waitPodCIDR(name)
		inCluster(name, cidr)
		if other, dup := owner[cidr]; dup {
			t.Fatalf("%s and %s both have %s", name, other, cidr)
		}
		owner[cidr] = name
	}

	// A new controller-manager marks the subnets in use before it hands
	// any out: node-3 gets neither of theirs.
	cm.Stop()
	framework.StartControllerManager(t, srv, flags...)
	e.createNode("node-3", "")
	e.createNode("node-4", "")
	for _, name := range []string{"node-3", "node-4"} {
		cidr := e.waitPodCIDR(name)
		inCluster(name, cidr)
		if other, dup := owner[cidr]; dup {
			t.Fatalf("%s got %s, which %s has", name, cidr, other)
		}
		owner[cidr] = name
	}
	if got := e.waitPodCIDR("elsewhere"); got != "192.168.7.0/24" {
		t.Fatalf("elsewhere: pod CIDR %s, want its own 192.168.7.0/24", got)
	}

	// The range is full: node-5 waits, with a warning event.
	e.createNode("node-5", "")
	framework.Eventually(t, 30*time.Second, "node-5 gets a CIDRNotAvailable event", func() error {
		list, err := e.c.CoreV1().Events("default").List(e.ctx, client.ListOptions{
			FieldSelector: "involvedObject.kind=Node,involvedObject.name=node-5,reason=CIDRNotAvailable"})
		if err != nil {
			return err
		}
		if len(list.GetItems()) == 0 {
			return fmt.Errorf("no event")
		}
		if typ := list.GetItems()[0].GetType(); typ != "Warning" {
			return fmt.Errorf("event type %s, want Warning", typ)
		}
		return nil
	})
	if n, err := e.c.CoreV1().Nodes().Get(e.ctx, "node-5"); err != nil || n.GetSpec().GetPodCidr() != "" {
		t.Fatalf("node-5 in a full range: pod CIDR %q (err %v), want none", n.GetSpec().GetPodCidr(), err)
	}

	// Deleting node-1 frees its subnet, and node-5 gets it.
	freed := e.waitPodCIDR("node-1")
	if _, err := e.c.CoreV1().Nodes().Delete(e.ctx, "node-1", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.waitPodCIDR("node-5"); got != freed {
		t.Fatalf("node-5: pod CIDR %s, want node-1's %s", got, freed)
	}

	// The node lifecycle controller's writes were kept alongside ours.
	framework.Eventually(t, 30*time.Second, "node-2 is Unknown and tainted, and keeps its pod CIDR", func() error {
		n, err := e.c.CoreV1().Nodes().Get(e.ctx, "node-2")
		if err != nil {
			return err
		}
		ready := ""
		for _, c := range n.GetStatus().GetConditions() {
			if c.GetType() == "Ready" {
				ready = c.GetStatus()
			}
		}
		if ready != "Unknown" || len(n.GetSpec().GetTaints()) == 0 || owner[n.GetSpec().GetPodCidr()] != "node-2" {
			return fmt.Errorf("ready %q, taints %v, pod CIDR %s", ready, n.GetSpec().GetTaints(), n.GetSpec().GetPodCidr())
		}
		return nil
	})
}
