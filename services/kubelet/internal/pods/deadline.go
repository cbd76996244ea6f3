package pods

import (
	"context"
	"time"

	corev1 "skiff.dev/api/core/v1"
)

// Kubernetes' reason and message for a pod that outlived its
// activeDeadlineSeconds.
const (
	reasonDeadlineExceeded  = "DeadlineExceeded"
	messageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"
)

// failure is why the kubelet ended a pod for good (phase Failed): its
// deadline passed, or it was rejected.
type failure struct {
	reason, message string
}

// deadline is when the pod's activeDeadlineSeconds, counted from its
// start on this node, runs out; ok is false without a deadline.
func (m *Manager) deadline(pod *corev1.Pod) (at time.Time, ok bool) {
	secs := pod.GetSpec().ActiveDeadlineSeconds
	if secs == nil {
		return time.Time{}, false
	}
	start := m.startedAt(pod.GetMetadata().GetUid())
	if st := pod.GetStatus().GetStartTime(); st != nil {
		start = st.AsTime()
	}
	return start.Add(time.Duration(*secs) * time.Second), true
}

// checkDeadline reports a pod past its active deadline as failed, or how
// long until its deadline (0 without one).
func (m *Manager) checkDeadline(pod *corev1.Pod, now time.Time) (*failure, time.Duration) {
	at, ok := m.deadline(pod)
	switch {
	case !ok:
		return nil, 0
	case !now.Before(at):
		return &failure{reason: reasonDeadlineExceeded, message: messageDeadlineExceeded}, 0
	}
	return nil, at.Sub(now)
}

// killPod stops every running container of a pod that is done for good
// (each with its preStop hook and the grace period) and then its
// sandboxes; the ended containers stay for their status and logs.
func (m *Manager) killPod(ctx context.Context, pod *corev1.Pod, ps *podState) error {
	if err := m.stopContainers(ctx, pod, ps, podGrace(pod)); err != nil {
		return err
	}
	return m.stopSandboxes(ctx, ps)
}
