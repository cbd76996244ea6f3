package pods

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

func TestMountPropagation(t *testing.T) {
	yes := true
	privileged := &corev1.Container{SecurityContext: &corev1.SecurityContext{Privileged: &yes}}
	tests := []struct {
		name      string
		mode      *string
		container *corev1.Container
		want      runtimeapi.MountPropagation
		err       bool
	}{
		{name: "unset", container: &corev1.Container{}, want: runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
		{name: "None", mode: ptr("None"), container: &corev1.Container{}, want: runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
		{name: "HostToContainer", mode: ptr("HostToContainer"), container: &corev1.Container{}, want: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		{name: "Bidirectional privileged", mode: ptr("Bidirectional"), container: privileged, want: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
		{name: "Bidirectional unprivileged", mode: ptr("Bidirectional"), container: &corev1.Container{}, err: true},
		{name: "unknown", mode: ptr("Sideways"), container: privileged, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mountPropagation(&corev1.VolumeMount{Name: "v", MountPropagation: tt.mode}, tt.container)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func ptr(s string) *string { return &s }
