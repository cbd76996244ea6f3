package replication

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// The view carries what the reconcile reads, and a status converted to a
// ReplicaSet's and back is the one it came from.
func TestViewAndStatus(t *testing.T) {
	st := &corev1.ReplicationControllerStatus{Replicas: 3, FullyLabeledReplicas: 3, ObservedGeneration: 2, ReadyReplicas: 2,
		AvailableReplicas: 1, Conditions: []*corev1.ReplicationControllerCondition{{Type: "ReplicaFailure", Status: "True",
			Reason: "FailedCreate", Message: "quota", LastTransitionTime: timestamppb.Now()}}}
	rc := &corev1.ReplicationController{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "ns", Uid: "u"},
		Spec: &corev1.ReplicationControllerSpec{Replicas: proto.Int32(3), Selector: map[string]string{"app": "web"}, MinReadySeconds: 5,
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}},
		Status: st}
	rs := View(rc)
	if rs.GetMetadata() != rc.GetMetadata() || rs.GetSpec().GetTemplate() != rc.GetSpec().GetTemplate() {
		t.Error("the view must share the metadata and template")
	}
	if rs.GetSpec().GetReplicas() != 3 || rs.GetSpec().GetMinReadySeconds() != 5 || rs.GetSpec().GetSelector().GetMatchLabels()["app"] != "web" {
		t.Errorf("view spec %v", rs.GetSpec())
	}
	if back := FromReplicaSetStatus(rs.GetStatus()); !proto.Equal(back, st) {
		t.Errorf("status round trip: got %v, want %v", back, st)
	}
	if !proto.Equal(View(&corev1.ReplicationController{}).GetStatus(), (*appsv1.ReplicaSetStatus)(nil)) {
		t.Error("no status: the view has none")
	}
}
