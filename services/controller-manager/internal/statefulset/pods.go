package statefulset

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
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

// readySince is when the pod turned Ready, nil if it is not.
func readySince(p *corev1.Pod) *timestamppb.Timestamp {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			if c.GetStatus() != "True" {
				return nil
			}
			if t := c.GetLastTransitionTime(); t != nil {
				return t
			}
			return timestamppb.New(time.Time{})
		}
	}
	return nil
}

func isRunningAndReady(p *corev1.Pod) bool {
	return p.GetStatus().GetPhase() == "Running" && readySince(p) != nil
}

// isAvailable: ready for at least minReady at now (Kubernetes' pod
// availability, which its StatefulSet controller calls running and
// available).
func isAvailable(p *corev1.Pod, minReady int32, now time.Time) bool {
	since := readySince(p)
	return since != nil && (minReady <= 0 || since.AsTime().Add(time.Duration(minReady)*time.Second).Before(now))
}

// isUnavailable: not available, or being deleted.
func isUnavailable(p *corev1.Pod, minReady int32, now time.Time) bool {
	return !isAvailable(p, minReady, now) || isTerminating(p)
}
