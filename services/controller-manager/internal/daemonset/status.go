package daemonset

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// computeStatus counts, over the nodes that should run the daemon, those
// with a pod (current), a ready one, an available one and an up-to-date
// one (each judged by the node's oldest pod), and the nodes that run it
// but should not (misscheduled). It says when a ready pod turns
// available.
func computeStatus(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, collisions *int32, now time.Time) (*appsv1.DaemonSetStatus, time.Duration) {
	st := &appsv1.DaemonSetStatus{ObservedGeneration: ds.GetMetadata().GetGeneration(), Conditions: ds.GetStatus().GetConditions(),
		CollisionCount: collisions}
	minReady := time.Duration(ds.GetSpec().GetMinReadySeconds()) * time.Second
	var next time.Duration
	for _, node := range nodes {
		run, _ := shouldRun(ds, node)
		pods := byNode[node.GetMetadata().GetName()]
		if !run {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		sorted := append([]*corev1.Pod(nil), pods...)
		sortOldestFirst(sorted)
		pod := sorted[0]
		if ready(pod) {
			st.NumberReady++
			if available(ds, pod, now) {
				st.NumberAvailable++
			} else if since := readySince(pod); since != nil {
				if left := since.Add(minReady).Sub(now); left > 0 && (next == 0 || left < next) {
					next = left
				}
			}
		}
		if isUpdated(ds, pod, hash) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	if next > 0 {
		next += 100 * time.Millisecond
	}
	return st, next
}

func readySince(p *corev1.Pod) *time.Time {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" && c.GetStatus() == "True" {
			t := c.GetLastTransitionTime().AsTime()
			return &t
		}
	}
	return nil
}

// updateStatus writes the status when it changed, and returns when to
// look again for pods that turn available.
func (dc *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, collisions *int32) (time.Duration, error) {
	st, after := computeStatus(ds, nodes, byNode, hash, collisions, time.Now())
	if proto.Equal(ds.GetStatus(), st) {
		return after, nil
	}
	updated := proto.Clone(ds).(*appsv1.DaemonSet)
	updated.Status = st
	_, err := dc.c.AppsV1().DaemonSets(ds.GetMetadata().GetNamespace()).UpdateStatus(ctx, updated, client.WriteOptions{})
	switch {
	case client.IsNotFound(err):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("update status of daemonset %s: %w", informer.KeyOf(ds), err)
	}
	return after, nil
}
