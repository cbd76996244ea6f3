// Package replication is the ReplicationController controller: core/v1
// ReplicationControllers keep their pods through the ReplicaSet
// controller's reconcile, each shown to it as a ReplicaSet whose selector
// matches the controller's labels, as Kubernetes' replication controller
// does.
package replication

import (
	"context"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/controller-manager/internal/informers"
	"skiff.dev/services/controller-manager/internal/replicaset"
)

// Name is the controller's name in --controllers.
const Name = "replicationcontroller"

// Controller is the ReplicationController controller.
type Controller = replicaset.Controller[*corev1.ReplicationController]

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) (*Controller, error) {
	return replicaset.NewFor(c, f, workers, Kind(c, f))
}

// Kind is the core/v1 ReplicationController kind for the ReplicaSet
// controller.
func Kind(c *client.Client, f *informers.Factory) replicaset.Kind[*corev1.ReplicationController] {
	return replicaset.Kind[*corev1.ReplicationController]{
		Name: Name, APIVersion: "v1", Kind: "ReplicationController",
		Objects: informers.For[*corev1.ReplicationController, *corev1.ReplicationControllerList](f),
		View:    View,
		UpdateStatus: func(ctx context.Context, rc *corev1.ReplicationController, st *appsv1.ReplicaSetStatus) (*corev1.ReplicationController, error) {
			updated := &corev1.ReplicationController{Kind: rc.GetKind(), ApiVersion: rc.GetApiVersion(), Metadata: rc.GetMetadata(),
				Spec: rc.GetSpec(), Status: FromReplicaSetStatus(st)}
			return c.CoreV1().ReplicationControllers(rc.GetMetadata().GetNamespace()).UpdateStatus(ctx, updated, client.WriteOptions{})
		},
	}
}

// View is a ReplicationController as a ReplicaSet: its metadata and
// template shared (never changed), its selector as matchLabels, its status
// converted.
func View(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	sp := rc.GetSpec()
	var replicas *int32
	if sp != nil {
		replicas = sp.Replicas
	}
	rs := &appsv1.ReplicaSet{Metadata: rc.GetMetadata(), Spec: &appsv1.ReplicaSetSpec{Replicas: replicas,
		Selector: &metav1.LabelSelector{MatchLabels: sp.GetSelector()}, Template: sp.GetTemplate(),
		MinReadySeconds: sp.GetMinReadySeconds()}}
	if st := rc.GetStatus(); st != nil {
		rs.Status = &appsv1.ReplicaSetStatus{Replicas: st.GetReplicas(), FullyLabeledReplicas: st.GetFullyLabeledReplicas(),
			ObservedGeneration: st.GetObservedGeneration(), ReadyReplicas: st.GetReadyReplicas(), AvailableReplicas: st.GetAvailableReplicas()}
		for _, c := range st.GetConditions() {
			rs.Status.Conditions = append(rs.Status.Conditions, &appsv1.ReplicaSetCondition{Type: c.GetType(), Status: c.GetStatus(),
				LastTransitionTime: c.GetLastTransitionTime(), Reason: c.GetReason(), Message: c.GetMessage()})
		}
	}
	return rs
}

// FromReplicaSetStatus is a ReplicaSet status as a ReplicationController's.
func FromReplicaSetStatus(st *appsv1.ReplicaSetStatus) *corev1.ReplicationControllerStatus {
	out := &corev1.ReplicationControllerStatus{Replicas: st.GetReplicas(), FullyLabeledReplicas: st.GetFullyLabeledReplicas(),
		ObservedGeneration: st.GetObservedGeneration(), ReadyReplicas: st.GetReadyReplicas(), AvailableReplicas: st.GetAvailableReplicas()}
	for _, c := range st.GetConditions() {
		out.Conditions = append(out.Conditions, &corev1.ReplicationControllerCondition{Type: c.GetType(), Status: c.GetStatus(),
			LastTransitionTime: c.GetLastTransitionTime(), Reason: c.GetReason(), Message: c.GetMessage()})
	}
	return out
}
