package statefulset

import (
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/controller-manager/internal/controller"
)

// The states of a pod that the ordering rules look at, as Kubernetes
// defines them: created (it has a phase), terminating (being deleted),
// running and ready, and available (ready for minReadySeconds).

func isCreated(p *corev1.Pod) bool     { return p.GetStatus().GetPhase() != "" }
func isTerminating(p *corev1.Pod) bool { return p.GetMetadata().GetDeletionTimestamp() != nil }
func isFinished(p *corev1.Pod) bool {
	return p.GetStatus().GetPhase() == "Failed" || p.GetStatus().GetPhase() == "Succeeded"
}
func isPending(p *corev1.Pod) bool { return p.GetStatus().GetPhase() == "Pending" }

func isRunningAndReady(p *corev1.Pod) bool {
	return p.GetStatus().GetPhase() == "Running" && controller.ReadySince(p) != nil
}

// isAvailable: ready for at least minReady at now (Kubernetes' pod
// availability, which its StatefulSet controller calls running and
// available).
func isAvailable(p *corev1.Pod, minReady int32, now time.Time) bool {
	since := controller.ReadySince(p)
	return since != nil && (minReady <= 0 || since.AsTime().Add(time.Duration(minReady)*time.Second).Before(now))
}

// isUnavailable: not available, or being deleted.
func isUnavailable(p *corev1.Pod, minReady int32, now time.Time) bool {
	return !isAvailable(p, minReady, now) || isTerminating(p)
}
