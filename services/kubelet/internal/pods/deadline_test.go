package pods

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestCheckDeadline(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		deadline  *int64
		startTime bool // status.startTime set, else the kubelet's own start
		now       time.Time
		failed    bool
		wait      time.Duration
	}{
		{name: "no deadline", now: start.Add(time.Hour)},
		{name: "before", deadline: proto.Int64(30), startTime: true, now: start.Add(10 * time.Second), wait: 20 * time.Second},
		{name: "at", deadline: proto.Int64(30), startTime: true, now: start.Add(30 * time.Second), failed: true},
		{name: "after, from the kubelet's start", deadline: proto.Int64(5), now: start.Add(time.Minute), failed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manager{started: map[string]time.Time{"u": start}}
			pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Uid: "u"}, Spec: &corev1.PodSpec{ActiveDeadlineSeconds: tt.deadline}, Status: &corev1.PodStatus{}}
			if tt.startTime {
				pod.Status.StartTime = timestamppb.New(start)
			}
			f, wait := m.checkDeadline(pod, tt.now)
			if (f != nil) != tt.failed || wait != tt.wait {
				t.Errorf("got failure %v, wait %v; want failed %v, wait %v", f, wait, tt.failed, tt.wait)
			}
			if f != nil && (f.reason != "DeadlineExceeded" || f.message != "Pod was active on the node longer than the specified deadline") {
				t.Errorf("got %+v, want Kubernetes' reason and message", f)
			}
		})
	}
}
