package pods

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
)

func TestPhase(t *testing.T) {
	running := &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	waiting := &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	exited := func(code int32) *corev1.ContainerState {
		return &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
	}
	cs := func(state, last *corev1.ContainerState) *corev1.ContainerStatus {
		return &corev1.ContainerStatus{State: state, LastState: last}
	}
	for _, tc := range []struct {
		name    string
		policy  string
		inits   []*corev1.ContainerStatus
		regular []*corev1.ContainerStatus
		want    string
	}{
		{"creating", "Always", nil, []*corev1.ContainerStatus{cs(waiting, nil)}, "Pending"},
		{"init running", "Always", []*corev1.ContainerStatus{cs(running, nil)}, []*corev1.ContainerStatus{cs(waiting, nil)}, "Pending"},
		{"init failed, Never", "Never", []*corev1.ContainerStatus{cs(exited(1), nil)}, []*corev1.ContainerStatus{cs(waiting, nil)}, "Failed"},
		{"init failed, Always", "Always", []*corev1.ContainerStatus{cs(exited(1), nil)}, []*corev1.ContainerStatus{cs(waiting, nil)}, "Pending"},
		{"running", "Always", []*corev1.ContainerStatus{cs(exited(0), nil)}, []*corev1.ContainerStatus{cs(running, nil)}, "Running"},
		{"crash-looping", "Always", nil, []*corev1.ContainerStatus{cs(&corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}, exited(2))}, "Running"},
		{"ended, Always", "Always", nil, []*corev1.ContainerStatus{cs(exited(0), nil)}, "Running"},
		{"succeeded", "Never", nil, []*corev1.ContainerStatus{cs(exited(0), nil), cs(exited(0), nil)}, "Succeeded"},
		{"failed", "Never", nil, []*corev1.ContainerStatus{cs(exited(0), nil), cs(exited(3), nil)}, "Failed"},
		{"failed, OnFailure", "OnFailure", nil, []*corev1.ContainerStatus{cs(exited(3), nil)}, "Running"},
		{"succeeded, OnFailure", "OnFailure", nil, []*corev1.ContainerStatus{cs(exited(0), nil)}, "Succeeded"},
		{"one still running", "Never", nil, []*corev1.ContainerStatus{cs(exited(0), nil), cs(running, nil)}, "Running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: &corev1.PodSpec{RestartPolicy: proto.String(tc.policy)}}
			st := &corev1.PodStatus{InitContainerStatuses: tc.inits, ContainerStatuses: tc.regular}
			if got := phase(pod, st); got != tc.want {
				t.Errorf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}
