package status

import (
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestContinuesTrace(t *testing.T) {
	pod := func(phase, ready string, deleting bool) *corev1.Pod {
		p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Status: &corev1.PodStatus{Phase: phase}}
		if ready != "" {
			p.Status.Conditions = []*corev1.PodCondition{{Type: "Initialized", Status: "True"}, {Type: "Ready", Status: ready}}
		}
		if deleting {
			p.Metadata.DeletionTimestamp = timestamppb.Now()
		}
		return p
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"new", pod("", "", false), true},
		{"pending", pod("Pending", "False", false), true},
		{"running, not ready", pod("Running", "False", false), true},
		{"running and ready: settled", pod("Running", "True", false), false},
		{"settled, being deleted", pod("Running", "True", true), true},
		{"succeeded", pod("Succeeded", "False", false), false},
		{"failed", pod("Failed", "False", false), false},
	} {
		if got := ContinuesTrace(tc.pod); got != tc.want {
			t.Errorf("%s: ContinuesTrace = %v, want %v", tc.name, got, tc.want)
		}
	}
}
