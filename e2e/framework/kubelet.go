package framework

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// StandInKubelet plays the kubelet's part for tests that have no container
// runtime: it registers Nodes, renews their Leases, reports the pods bound
// to them Running and Ready through pods/status, and finishes the deletion
// of pods that are being deleted. It stops with the test.
type StandInKubelet struct {
	t     testing.TB
	c     *client.Client
	nodes map[string]bool

	mu      sync.Mutex
	stalled map[string]bool // nodes whose lease is no longer renewed
	nextIP  atomic.Uint32   // pod IPs are handed out in order, never twice
}

// StartStandInKubelet registers nodes (4 cpu, 16Gi, 110 pods each) and
// starts looking after them.
func StartStandInKubelet(t testing.TB, c *client.Client, nodes ...string) *StandInKubelet {
	t.Helper()
	k := &StandInKubelet{t: t, c: c, nodes: map[string]bool{}, stalled: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	for _, n := range nodes {
		k.nodes[n] = true
		if err := k.register(ctx, n); err != nil {
			cancel()
			t.Fatalf("register node %s: %v", n, err)
		}
	}
	pods := informer.New(informer.FromResource(c.CoreV1().Pods("").Resource), informer.Options[*corev1.Pod]{})
	pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    func(p *corev1.Pod) { k.sync(ctx, p) },
		OnUpdate: func(_, p *corev1.Pod) { k.sync(ctx, p) },
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = pods.Start(ctx) }()
	go func() { defer wg.Done(); k.renewLeases(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return k
}

// StopRenewing stops renewing a node's Lease, as a dead kubelet would.
func (k *StandInKubelet) StopRenewing(node string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stalled[node] = true
}

// ReportNotReady reports a node Ready=False while its Lease stays fresh,
// as a kubelet whose runtime is down does.
func (k *StandInKubelet) ReportNotReady(ctx context.Context, node string) error {
	n, err := k.c.CoreV1().Nodes().Get(ctx, node)
	if err != nil {
		return err
	}
	now := timestamppb.Now()
	n.Status.Conditions = []*corev1.NodeCondition{{Type: "Ready", Status: "False", Reason: "KubeletNotReady",
		Message: "container runtime is down", LastHeartbeatTime: now, LastTransitionTime: now}}
	_, err = k.c.CoreV1().Nodes().UpdateStatus(ctx, n, client.WriteOptions{})
	return err
}

// Resume renews a node's Lease again and reports it Ready, as a kubelet
// that comes back does.
func (k *StandInKubelet) Resume(ctx context.Context, node string) error {
	k.mu.Lock()
	delete(k.stalled, node)
	k.mu.Unlock()
	n, err := k.c.CoreV1().Nodes().Get(ctx, node)
	if err != nil {
		return err
	}
	now := timestamppb.Now()
	n.Status.Conditions = []*corev1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady",
		LastHeartbeatTime: now, LastTransitionTime: now}}
	_, err = k.c.CoreV1().Nodes().UpdateStatus(ctx, n, client.WriteOptions{})
	return err
}

func (k *StandInKubelet) register(ctx context.Context, name string) error {
	q := func(s string) *metav1.Quantity { return &metav1.Quantity{String_: s} }
	res := map[string]*metav1.Quantity{"cpu": q("4"), "memory": q("16Gi"), "pods": q("110")}
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	created, err := k.c.CoreV1().Nodes().Create(ctx, n, client.WriteOptions{})
	if err != nil {
		return err
	}
	created.Status = &corev1.NodeStatus{Capacity: res, Allocatable: res,
		Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady",
			LastHeartbeatTime: timestamppb.Now(), LastTransitionTime: timestamppb.Now()}}}
	_, err = k.c.CoreV1().Nodes().UpdateStatus(ctx, created, client.WriteOptions{})
	return err
}

// renewLeases keeps each node's Lease in kube-node-lease fresh, every
// second, as the kubelet does every few seconds.
func (k *StandInKubelet) renewLeases(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for n := range k.nodes {
			k.mu.Lock()
			stalled := k.stalled[n]
			k.mu.Unlock()
			if !stalled {
				k.renew(ctx, n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (k *StandInKubelet) renew(ctx context.Context, node string) {
	leases := k.c.CoordinationV1().Leases("kube-node-lease")
	l, err := leases.Get(ctx, node)
	seconds := int32(40)
	if client.IsNotFound(err) {
		l = &coordinationv1.Lease{Metadata: &metav1.ObjectMeta{Name: node, Namespace: "kube-node-lease"},
			Spec: &coordinationv1.LeaseSpec{HolderIdentity: &node, LeaseDurationSeconds: &seconds, RenewTime: timestamppb.Now()}}
		_, _ = leases.Create(ctx, l, client.WriteOptions{})
		return
	}
	if err != nil {
		return
	}
	l.Spec.RenewTime = timestamppb.Now()
	_, _ = leases.Update(ctx, l, client.WriteOptions{})
}

// sync reports a bound pod running, or finishes its deletion.
func (k *StandInKubelet) sync(ctx context.Context, p *corev1.Pod) {
	if !k.nodes[p.GetSpec().GetNodeName()] {
		return
	}
	k.mu.Lock()
	stalled := k.stalled[p.GetSpec().GetNodeName()]
	k.mu.Unlock()
	if stalled {
		return // a dead kubelet reports nothing
	}
	pods := k.c.CoreV1().Pods(p.GetMetadata().GetNamespace())
	if p.GetMetadata().GetDeletionTimestamp() != nil {
		zero := int64(0)
		_, _ = pods.Delete(ctx, p.GetMetadata().GetName(), &metav1.DeleteOptions{GracePeriodSeconds: &zero})
		return
	}
	if p.GetStatus().GetPhase() == "Running" {
		return
	}
	now := timestamppb.Now()
	running := proto.Clone(p).(*corev1.Pod)
	running.Status.Phase = "Running"
	running.Status.HostIp = "10.0.0.1"
	n := k.nextIP.Add(1)
	running.Status.PodIp = fmt.Sprintf("10.244.%d.%d", n/250, n%250+1)
	running.Status.StartTime = now
	for _, typ := range []string{"PodScheduled", "Initialized", "ContainersReady", "Ready"} {
		running.Status.Conditions = setPodCondition(running.Status.Conditions, typ, now)
	}
	running.Status.ContainerStatuses = nil
	for _, c := range p.GetSpec().GetContainers() {
		running.Status.ContainerStatuses = append(running.Status.ContainerStatuses, &corev1.ContainerStatus{
			Name: c.GetName(), Image: c.GetImage(), Ready: true, Started: proto.Bool(true),
			State: &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	_, _ = pods.UpdateStatus(ctx, running, client.WriteOptions{})
}

func setPodCondition(conds []*corev1.PodCondition, typ string, now *timestamppb.Timestamp) []*corev1.PodCondition {
	for _, c := range conds {
		if c.GetType() == typ {
			c.Status, c.LastTransitionTime = "True", now
			return conds
		}
	}
	return append(conds, &corev1.PodCondition{Type: typ, Status: "True", LastTransitionTime: now})
}
