package pvcprotection

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
)

func TestUsesClaim(t *testing.T) {
	pod := func(node, phase string, claims ...string) *corev1.Pod {
		p := &corev1.Pod{Spec: &corev1.PodSpec{}, Status: &corev1.PodStatus{Phase: phase}}
		if node != "" {
			p.Spec.NodeName = &node
		}
		for _, c := range claims {
			p.Spec.Volumes = append(p.Spec.Volumes, &corev1.Volume{Name: c, VolumeSource: &corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
		}
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{name: "scheduled pod using it", pod: pod("n1", "Running", "other", "data"), want: true},
		{name: "not scheduled", pod: pod("", "Pending", "data")},
		{name: "another claim", pod: pod("n1", "Running", "other")},
		{name: "finished pods still hold it, as in Kubernetes", pod: pod("n1", "Succeeded", "data"), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UsesClaim(tt.pod, "data"); got != tt.want {
				t.Errorf("UsesClaim = %v, want %v", got, tt.want)
			}
		})
	}
}
