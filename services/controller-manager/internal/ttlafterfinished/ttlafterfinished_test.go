package ttlafterfinished

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	batchv1 "skiff.dev/api/batch/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestTimeLeft(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	finished := func(typ string) *batchv1.JobStatus {
		return &batchv1.JobStatus{Conditions: []*batchv1.JobCondition{
			{Type: "SuccessCriteriaMet", Status: "True", LastTransitionTime: timestamppb.New(t0.Add(-time.Hour))},
			{Type: typ, Status: "True", LastTransitionTime: timestamppb.New(t0)}}}
	}
	for _, tt := range []struct {
		name string
		job  *batchv1.Job
		now  time.Time
		left time.Duration
		ok   bool
	}{
		{"no ttl", &batchv1.Job{Metadata: &metav1.ObjectMeta{}, Spec: &batchv1.JobSpec{}, Status: finished("Complete")}, t0, 0, false},
		{"running", &batchv1.Job{Metadata: &metav1.ObjectMeta{}, Spec: &batchv1.JobSpec{TtlSecondsAfterFinished: proto.Int32(5)}}, t0, 0, false},
		{"complete, ttl ahead", &batchv1.Job{Metadata: &metav1.ObjectMeta{}, Spec: &batchv1.JobSpec{TtlSecondsAfterFinished: proto.Int32(60)}, Status: finished("Complete")},
			t0.Add(20 * time.Second), 40 * time.Second, true},
		{"failed, expired", &batchv1.Job{Metadata: &metav1.ObjectMeta{}, Spec: &batchv1.JobSpec{TtlSecondsAfterFinished: proto.Int32(0)}, Status: finished("Failed")},
			t0.Add(time.Second), -time.Second, true},
		{"being deleted", &batchv1.Job{Metadata: &metav1.ObjectMeta{DeletionTimestamp: timestamppb.New(t0)},
			Spec: &batchv1.JobSpec{TtlSecondsAfterFinished: proto.Int32(0)}, Status: finished("Complete")}, t0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			left, ok := TimeLeft(tt.job, tt.now)
			if left != tt.left || ok != tt.ok {
				t.Errorf("got %v %v, want %v %v", left, ok, tt.left, tt.ok)
			}
		})
	}
}
