package replicaset

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/labels"
	"skiff.dev/services/controller-manager/internal/controller"
)

// IsAvailable reports whether a pod has been ready for minReady at now,
// and if it is ready but not yet available, how long until it is.
func IsAvailable(p *corev1.Pod, minReady time.Duration, now time.Time) (bool, time.Duration) {
	since := controller.ReadySince(p)
	if since == nil {
		return false, 0
	}
	if minReady <= 0 {
		return true, 0
	}
	left := since.AsTime().Add(minReady).Sub(now)
	if left <= 0 {
		return true, 0
	}
	return false, left
}

// computeStatus counts the pods, and says when to look again for pods
// that will become available.
func computeStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod, manageErr error, now time.Time) (*appsv1.ReplicaSetStatus, time.Duration) {
	st := &appsv1.ReplicaSetStatus{Replicas: int32(len(active)), ObservedGeneration: rs.GetMetadata().GetGeneration()}
	minReady := time.Duration(rs.GetSpec().GetMinReadySeconds()) * time.Second
	tmplLabels := rs.GetSpec().GetTemplate().GetMetadata().GetLabels()
	var next time.Duration
	for _, p := range active {
		if labels.Matches(&metav1.LabelSelector{MatchLabels: tmplLabels}, p.GetMetadata().GetLabels()) {
			st.FullyLabeledReplicas++
		}
		if controller.ReadySince(p) != nil {
			st.ReadyReplicas++
		}
		ok, left := IsAvailable(p, minReady, now)
		if ok {
			st.AvailableReplicas++
		} else if left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	st.Conditions = failureCondition(rs.GetStatus().GetConditions(), manageErr, len(active)-int(rs.GetSpec().GetReplicas()), now)
	if next > 0 {
		next += 100 * time.Millisecond
	}
	return st, next
}

// failureCondition sets ReplicaFailure while creating or deleting pods
// fails, as Kubernetes does: reason FailedCreate when pods are missing,
// FailedDelete when there are too many, the message of the first error
// the apiserver gave; a condition already set stays as it is until the
// failures end, and then goes.
func failureCondition(old []*appsv1.ReplicaSetCondition, err error, diff int, now time.Time) []*appsv1.ReplicaSetCondition {
	var out []*appsv1.ReplicaSetCondition
	var prev *appsv1.ReplicaSetCondition
	for _, c := range old {
		if c.GetType() == "ReplicaFailure" {
			prev = c
			continue
		}
		out = append(out, c)
	}
	switch {
	case err == nil:
		return out
	case prev != nil:
		return append(out, prev)
	}
	reason := ""
	switch {
	case diff < 0:
		reason = "FailedCreate"
	case diff > 0:
		reason = "FailedDelete"
	}
	msg := err.Error()
	if se := (*client.StatusError)(nil); errors.As(err, &se) {
		msg = se.Error()
	}
	return append(out, &appsv1.ReplicaSetCondition{Type: "ReplicaFailure", Status: "True", Reason: reason,
		Message: msg, LastTransitionTime: timestamppb.New(now)})
}

// writeStatus updates the status when it changed.
func (rc *Controller[T]) writeStatus(ctx context.Context, obj T, old, st *appsv1.ReplicaSetStatus) error {
	if proto.Equal(old, st) {
		return nil
	}
	_, err := rc.kind.UpdateStatus(ctx, obj, st)
	switch {
	case client.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("update status of %s %s: %w", rc.kind.Name, informer.KeyOf(obj), err)
	}
	return nil
}
