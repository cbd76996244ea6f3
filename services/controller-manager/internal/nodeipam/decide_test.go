package nodeipam

import (
	"context"
	"net/netip"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/controller-manager/internal/controller"
)

// newTestController is a controller over a /22 of /24s with the given
// Nodes already cached, as Run finds them; it has no client or informer,
// so only decide and its bookkeeping can be called.
func newTestController(t *testing.T, existing ...*corev1.Node) *Controller {
	t.Helper()
	cfg := Config{ClusterCIDR: netip.MustParsePrefix("10.244.0.0/22"), NodeMaskSize: 24}
	set, err := NewCIDRSet(cfg.ClusterCIDR, cfg.NodeMaskSize)
	if err != nil {
		t.Fatal(err)
	}
	noop := controller.ReconcileFunc(func(context.Context, string) (time.Duration, error) { return 0, nil })
	ic := &Controller{cfg: cfg, Controller: &controller.Controller{Name: Name, Reconciler: noop},
		set: set, byNode: map[string]assignment{}, waiting: map[string]bool{}}
	t.Cleanup(func() {
		// A run that ends at once shuts down the queue decide may have made.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = ic.Controller.Run(ctx)
	})
	for _, n := range existing {
		ic.adopt(context.Background(), n)
	}
	return ic
}

func node(name, uid, podCIDR string) *corev1.Node {
	return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Uid: uid}, Spec: &corev1.NodeSpec{PodCidr: podCIDR}}
}

// decideNode runs decide for a Node and checks the step and subnet.
func decideNode(t *testing.T, ic *Controller, name string, n *corev1.Node, wantStep step, wantCIDR string) {
	t.Helper()
	a, got := ic.decide(context.Background(), name, n)
	if got != wantStep {
		t.Fatalf("%s: got step %d, want %d", name, got, wantStep)
	}
	if wantStep == stepWrite && a.cidr.String() != wantCIDR {
		t.Fatalf("%s: got %s, want %s", name, a.cidr, wantCIDR)
	}
}

func TestDecideKeepsTheSubnetsNodesHave(t *testing.T) {
	ic := newTestController(t, node("a", "ua", "10.244.0.0/24"), node("b", "ub", "10.244.2.0/24"), node("out", "uo", "192.168.1.0/24"))
	decideNode(t, ic, "c", node("c", "uc", ""), stepWrite, "10.244.1.0/24")
	decideNode(t, ic, "d", node("d", "ud", ""), stepWrite, "10.244.3.0/24")
	if _, ok := ic.byNode["out"]; ok {
		t.Error("a node outside the cluster CIDR was recorded")
	}
}

func TestDecideReservesUntilTheCacheShowsTheWrite(t *testing.T) {
	ic := newTestController(t)
	decideNode(t, ic, "a", node("a", "ua", ""), stepWrite, "10.244.0.0/24")
	// The cache still shows no podCIDR: the same subnet is written again.
	decideNode(t, ic, "a", node("a", "ua", ""), stepWrite, "10.244.0.0/24")
	decideNode(t, ic, "a", node("a", "ua", "10.244.0.0/24"), stepNone, "")
	decideNode(t, ic, "b", node("b", "ub", ""), stepWrite, "10.244.1.0/24")
}

func TestDecideFreesTheSubnetOfADeletedNode(t *testing.T) {
	ic := newTestController(t, node("a", "ua", "10.244.0.0/24"), node("b", "ub", "10.244.1.0/24"))
	decideNode(t, ic, "a", nil, stepNone, "")
	decideNode(t, ic, "c", node("c", "uc", ""), stepWrite, "10.244.0.0/24")
	// b is deleted and created again before its key is reconciled.
	decideNode(t, ic, "b", node("b", "ub2", ""), stepWrite, "10.244.1.0/24")
	if got := ic.byNode["b"].uid; got != "ub2" {
		t.Errorf("b's record: got uid %s, want ub2", got)
	}
}

func TestDecideWaitsWhenFull(t *testing.T) {
	ic := newTestController(t, node("a", "ua", "10.244.0.0/23"), node("b", "ub", "10.244.2.0/23"))
	decideNode(t, ic, "c", node("c", "uc", ""), stepWarn, "")
	decideNode(t, ic, "c", node("c", "uc", ""), stepWait, "") // warned once per wait
	decideNode(t, ic, "a", nil, stepNone, "")
	if got := ic.Len(); got != 1 {
		t.Fatalf("queued after a release: got %d, want 1 (c)", got)
	}
	decideNode(t, ic, "c", node("c", "uc", ""), stepWrite, "10.244.0.0/24")
	if ic.waiting["c"] {
		t.Error("c still waits after getting a subnet")
	}
}

func TestDecideFollowsAChangedPodCIDR(t *testing.T) {
	ic := newTestController(t, node("a", "ua", "10.244.0.0/24"))
	decideNode(t, ic, "a", node("a", "ua", "10.244.3.0/24"), stepNone, "")
	decideNode(t, ic, "b", node("b", "ub", ""), stepWrite, "10.244.0.0/24")
	decideNode(t, ic, "c", node("c", "uc", ""), stepWrite, "10.244.1.0/24")
	decideNode(t, ic, "d", node("d", "ud", ""), stepWrite, "10.244.2.0/24")
	decideNode(t, ic, "e", node("e", "ue", ""), stepWarn, "")
}

// Two Nodes claiming the same subnet: deleting one keeps it used.
func TestDecideKeepsASharedSubnetUsed(t *testing.T) {
	ic := newTestController(t, node("a", "ua", "10.244.0.0/24"), node("b", "ub", "10.244.0.0/24"))
	decideNode(t, ic, "a", nil, stepNone, "")
	decideNode(t, ic, "c", node("c", "uc", ""), stepWrite, "10.244.1.0/24")
}
