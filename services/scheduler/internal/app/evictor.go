package app

import (
	"context"
	"fmt"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/services/scheduler/internal/preemption"
	"skiff.dev/services/scheduler/internal/scheduler"
)

var _ scheduler.Evictor = (*binder)(nil)

// Nominate writes status.nominatedNodeName ("" clears it).
func (b *binder) Nominate(ctx context.Context, pod *corev1.Pod, node string) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	return b.updateStatus(ctx, pod, func(cur *corev1.Pod) bool {
		if cur.GetSpec().GetNodeName() != "" || cur.GetStatus().GetNominatedNodeName() == node {
			return false // bound meanwhile, or already so
		}
		if cur.Status == nil {
			cur.Status = &corev1.PodStatus{}
		}
		cur.Status.NominatedNodeName = node
		return true
	})
}

// Evict marks a preemption victim with the DisruptionTarget condition,
// deletes it with its own grace period and records a Preempted event on
// it, as Kubernetes' scheduler does.
func (b *binder) Evict(ctx context.Context, preemptor *corev1.Pod, node string, victim *corev1.Pod) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	m := victim.GetMetadata()
	condition := func() *corev1.PodCondition {
		return &corev1.PodCondition{Type: preemption.ConditionDisruptionTarget, Status: "True",
			Reason:  preemption.ReasonPreemptionByScheduler,
			Message: fmt.Sprintf("%s: preempting to accommodate a higher priority pod", preemptor.GetSpec().GetSchedulerName())}
	}
	err := b.updateStatus(ctx, victim, func(cur *corev1.Pod) bool {
		if cur.GetMetadata().GetUid() != m.GetUid() {
			return false // another pod of the same name
		}
		return setCondition(cur, condition())
	})
	if client.IsNotFound(err) {
		return nil // gone already
	}
	if err != nil {
		return fmt.Errorf("mark preemption victim %s/%s: %w", m.GetNamespace(), m.GetName(), err)
	}
	if _, err := b.c.CoreV1().Pods(m.GetNamespace()).Delete(ctx, m.GetName(), nil); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("delete preemption victim %s/%s: %w", m.GetNamespace(), m.GetName(), err)
	}
	b.events.Eventf(victim, events.Normal, "Preempted", "Preempted by pod %s on node %s", preemptor.GetMetadata().GetUid(), node)
	return nil
}

// updateStatus reads the pod, lets change edit it (false: nothing to
// write) and writes its status, trying again on a conflict.
func (b *binder) updateStatus(ctx context.Context, pod *corev1.Pod, change func(cur *corev1.Pod) bool) error {
	pods := b.c.CoreV1().Pods(pod.GetMetadata().GetNamespace())
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var cur *corev1.Pod
		if cur, err = pods.Get(ctx, pod.GetMetadata().GetName()); err != nil {
			return err
		}
		if !change(cur) {
			return nil
		}
		if _, err = pods.UpdateStatus(ctx, cur, client.WriteOptions{}); !client.IsConflict(err) {
			return err
		}
	}
	return err
}
