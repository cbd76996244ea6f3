package deployment

import (
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// sized is a ReplicaSet of n replicas created age minutes after t0,
// scaled for a Deployment whose largest size was maxReplicas (no
// annotation when negative).
func sized(name string, n int32, age int, maxReplicas int) *appsv1.ReplicaSet {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ann := map[string]string{}
	if maxReplicas >= 0 {
		ann[MaxReplicasAnnotation] = strconv.Itoa(maxReplicas)
	}
	return &appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Name: name, Annotations: ann,
		CreationTimestamp: timestamppb.New(t0.Add(time.Duration(age) * time.Minute))},
		Spec: &appsv1.ReplicaSetSpec{Replicas: &n}}
}

func TestProportionalSizes(t *testing.T) {
	tests := []struct {
		name                     string
		sets                     []*appsv1.ReplicaSet
		replicas, surge, current int32
		want                     map[string]int32
	}{
		// Kubernetes' e2e: 10 replicas, maxSurge 3, maxUnavailable 2, a
		// rollout stuck at 8 old and 5 new pods, scaled to 30.
		{"up to 30", []*appsv1.ReplicaSet{sized("old", 8, 0, 13), sized("new", 5, 1, 13)}, 30, 3, 13,
			map[string]int32{"old": 20, "new": 13}},
		{"up to 15", []*appsv1.ReplicaSet{sized("old", 8, 0, 13), sized("new", 5, 1, 13)}, 15, 3, 13,
			map[string]int32{"old": 11, "new": 7}},
		{"down to 5", []*appsv1.ReplicaSet{sized("old", 8, 0, 13), sized("new", 5, 1, 13)}, 5, 3, 13,
			map[string]int32{"old": 5, "new": 3}},
		// Three equal sets: rounding hands out nothing, the newest takes
		// what is left when growing, the oldest gives it when shrinking.
		{"leftover up to the newest", []*appsv1.ReplicaSet{sized("a", 1, 0, 3), sized("b", 1, 1, 3), sized("c", 1, 2, 3)}, 4, 0, 3,
			map[string]int32{"a": 1, "b": 1, "c": 2}},
		{"leftover down from the oldest", []*appsv1.ReplicaSet{sized("a", 2, 0, 6), sized("b", 2, 1, 6), sized("c", 2, 2, 6)}, 5, 0, 6,
			map[string]int32{"a": 1, "b": 2, "c": 2}},
		// Without the annotation the status' replicas are the size before.
		{"no annotation", []*appsv1.ReplicaSet{sized("old", 4, 0, -1), sized("new", 4, 1, -1)}, 16, 0, 8,
			map[string]int32{"old": 8, "new": 8}},
		{"to zero", []*appsv1.ReplicaSet{sized("old", 8, 0, 13), sized("new", 5, 1, 13)}, 0, 3, 13,
			map[string]int32{"old": 0, "new": 0}},
		{"unchanged", []*appsv1.ReplicaSet{sized("old", 8, 0, 13), sized("new", 5, 1, 13)}, 10, 3, 13,
			map[string]int32{"old": 8, "new": 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sizes := proportionalSizes(tt.sets, tt.replicas, tt.surge, tt.current)
			var total int32
			for i, rs := range tt.sets {
				total += sizes[i]
				if want := tt.want[rs.GetMetadata().GetName()]; sizes[i] != want {
					t.Errorf("%s: got %d, want %d", rs.GetMetadata().GetName(), sizes[i], want)
				}
			}
			if want := tt.replicas + tt.surge; tt.replicas > 0 && total != want {
				t.Errorf("total %d, want replicas+surge %d", total, want)
			}
		})
	}
}

func TestIsScalingEvent(t *testing.T) {
	d := deployment(15, num(3), num(2))
	old, cur := sized("old", 8, 0, 13), sized("new", 5, 1, 13)
	old.Metadata.Annotations[DesiredReplicasAnnotation] = "10"
	cur.Metadata.Annotations[DesiredReplicasAnnotation] = "10"
	r := &rollout{d: d, newRS: cur, old: []*appsv1.ReplicaSet{old}}
	if !r.isScalingEvent() {
		t.Error("sets scaled for 10 replicas of a Deployment of 15: want a scaling event")
	}
	old.Metadata.Annotations[DesiredReplicasAnnotation] = "15"
	cur.Metadata.Annotations[DesiredReplicasAnnotation] = "15"
	if r.isScalingEvent() {
		t.Error("sets scaled for the Deployment's replicas: want no scaling event")
	}
	zero := int32(0)
	old.Metadata.Annotations[DesiredReplicasAnnotation] = "10"
	old.Spec.Replicas = &zero
	if r.isScalingEvent() {
		t.Error("an empty set's annotation does not count")
	}
}
