package deployment

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// Condition reasons, as kubectl rollout status and describe know them.
const (
	ReasonNewRSCreated      = "NewReplicaSetCreated"
	ReasonRSUpdated         = "ReplicaSetUpdated"
	ReasonNewRSAvailable    = "NewReplicaSetAvailable"
	ReasonDeadlineExceeded  = "ProgressDeadlineExceeded"
	ReasonPaused            = "DeploymentPaused"
	ReasonResumed           = "DeploymentResumed"
	ReasonMinAvailable      = "MinimumReplicasAvailable"
	ReasonMinUnavailable    = "MinimumReplicasUnavailable"
	defaultProgressDeadline = 600
)

func condition(st *appsv1.DeploymentStatus, typ string) *appsv1.DeploymentCondition {
	for _, c := range st.GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

// setCondition replaces a condition, keeping its transition time when its
// status does not change and, unless refresh, its update time when nothing
// does (progress refreshes the Progressing condition's update time).
func setCondition(st *appsv1.DeploymentStatus, c *appsv1.DeploymentCondition, now time.Time, refresh bool) {
	ts := timestamppb.New(now)
	c.LastUpdateTime, c.LastTransitionTime = ts, ts
	for i, old := range st.Conditions {
		if old.GetType() != c.GetType() {
			continue
		}
		if old.GetStatus() == c.GetStatus() {
			c.LastTransitionTime = old.GetLastTransitionTime()
			if !refresh && old.GetReason() == c.GetReason() && old.GetMessage() == c.GetMessage() {
				return
			}
		}
		st.Conditions[i] = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

// computeStatus counts the ReplicaSets' pods into the Deployment's status.
func (r *rollout) computeStatus() *appsv1.DeploymentStatus {
	all := r.all()
	st := &appsv1.DeploymentStatus{ObservedGeneration: r.d.GetMetadata().GetGeneration()}
	if old := r.d.GetStatus(); old != nil {
		st.CollisionCount = old.CollisionCount
	}
	for _, rs := range all {
		st.Replicas += rs.GetStatus().GetReplicas()
		st.ReadyReplicas += rs.GetStatus().GetReadyReplicas()
		st.AvailableReplicas += rs.GetStatus().GetAvailableReplicas()
	}
	if r.newRS != nil {
		st.UpdatedReplicas = r.newRS.GetStatus().GetReplicas()
	}
	st.UnavailableReplicas = max(specReplicas(all)-st.AvailableReplicas, 0)
	for _, c := range r.d.GetStatus().GetConditions() {
		st.Conditions = append(st.Conditions, proto.Clone(c).(*appsv1.DeploymentCondition))
	}
	_, unavailable := r.surgeAndUnavailable()
	if st.AvailableReplicas >= r.replicas()-unavailable {
		setCondition(st, &appsv1.DeploymentCondition{Type: "Available", Status: "True", Reason: ReasonMinAvailable,
			Message: "Deployment has minimum availability."}, r.now, false)
	} else {
		setCondition(st, &appsv1.DeploymentCondition{Type: "Available", Status: "False", Reason: ReasonMinUnavailable,
			Message: "Deployment does not have minimum availability."}, r.now, false)
	}
	return st
}

func (r *rollout) complete(st *appsv1.DeploymentStatus) bool {
	n := r.replicas()
	return st.GetUpdatedReplicas() == n && st.GetReplicas() == n && st.GetAvailableReplicas() == n
}

// progressed reports whether the rollout moved since the last status.
func progressed(old, cur *appsv1.DeploymentStatus) bool {
	return cur.GetUpdatedReplicas() > old.GetUpdatedReplicas() || cur.GetReplicas() < old.GetReplicas() ||
		cur.GetReadyReplicas() > old.GetReadyReplicas() || cur.GetAvailableReplicas() > old.GetAvailableReplicas()
}

// progress sets the Progressing condition and says when the deadline
// would pass.
func (r *rollout) progress(st *appsv1.DeploymentStatus) time.Duration {
	prog := condition(r.d.GetStatus(), "Progressing")
	name := ""
	if r.newRS != nil {
		name = r.newRS.GetMetadata().GetName()
	}
	set := func(status, reason, msg string) {
		setCondition(st, &appsv1.DeploymentCondition{Type: "Progressing", Status: status, Reason: reason, Message: msg},
			r.now, reason == ReasonRSUpdated)
	}
	switch {
	case r.d.GetSpec().GetPaused():
		if prog.GetReason() != ReasonPaused {
			set("Unknown", ReasonPaused, "Deployment is paused")
		}
		return 0
	case prog.GetReason() == ReasonPaused:
		set("Unknown", ReasonResumed, "Deployment is resumed")
		return 0
	case r.complete(st):
		set("True", ReasonNewRSAvailable, fmt.Sprintf("ReplicaSet %q has successfully progressed.", name))
		return 0
	case r.createdRS:
		set("True", ReasonNewRSCreated, fmt.Sprintf("Created new replica set %q", name))
	case prog == nil || progressed(r.d.GetStatus(), st) || prog.GetReason() == ReasonNewRSAvailable:
		set("True", ReasonRSUpdated, fmt.Sprintf("ReplicaSet %q is progressing.", name))
	}
	cur := condition(st, "Progressing")
	if r.d.GetSpec().ProgressDeadlineSeconds != nil && r.d.GetSpec().GetProgressDeadlineSeconds() == 0 {
		return 0
	}
	deadline := time.Duration(defaultProgressDeadline) * time.Second
	if r.d.GetSpec().ProgressDeadlineSeconds != nil {
		deadline = time.Duration(r.d.GetSpec().GetProgressDeadlineSeconds()) * time.Second
	}
	if cur.GetReason() == ReasonDeadlineExceeded {
		return 0
	}
	left := cur.GetLastUpdateTime().AsTime().Add(deadline).Sub(r.now)
	if left <= 0 {
		set("False", ReasonDeadlineExceeded, fmt.Sprintf("ReplicaSet %q has timed out progressing.", name))
		return 0
	}
	return left + 100*time.Millisecond
}

// writeStatus updates the Deployment's status when it changed and says
// when to look again (the progress deadline).
func (r *rollout) writeStatus(ctx context.Context) (time.Duration, error) {
	st := r.computeStatus()
	after := r.progress(st)
	if proto.Equal(st, r.d.GetStatus()) {
		return after, nil
	}
	d := proto.Clone(r.d).(*appsv1.Deployment)
	d.Status = st
	if _, err := r.dc.c.AppsV1().Deployments(d.GetMetadata().GetNamespace()).UpdateStatus(ctx, d, client.WriteOptions{}); err != nil {
		if client.IsNotFound(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("update status of deployment %s: %w", informer.KeyOf(d), err)
	}
	return after, nil
}
