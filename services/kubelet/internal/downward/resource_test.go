package downward

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func quantities(kv ...string) map[string]*metav1.Quantity {
	m := map[string]*metav1.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
	}
	return m
}

func TestResource(t *testing.T) {
	limited := &corev1.Container{Name: "limited", Resources: &corev1.ResourceRequirements{
		Limits:   quantities("cpu", "1250m", "memory", "64Mi", "ephemeral-storage", "128Mi"),
		Requests: quantities("cpu", "250m", "memory", "32Mi"),
	}}
	bare := &corev1.Container{Name: "bare"}
	initC := &corev1.Container{Name: "setup", Resources: &corev1.ResourceRequirements{Limits: quantities("memory", "1Gi")}}
	pod := &corev1.Pod{Spec: &corev1.PodSpec{Containers: []*corev1.Container{limited, bare}, InitContainers: []*corev1.Container{initC}}}
	node := Allocatable{"cpu": resource.MustParse("3500m"), "memory": resource.MustParse("2Gi"), "ephemeral-storage": resource.MustParse("10Gi")}
	tests := []struct {
		name      string
		self      *corev1.Container
		container string
		resource  string
		divisor   string
		want      string
		wantErr   bool
	}{
		{"cpu limit rounds up", limited, "", "limits.cpu", "", "2", false},
		{"cpu limit in millicores", limited, "", "limits.cpu", "1m", "1250", false},
		{"memory limit", limited, "", "limits.memory", "", "67108864", false},
		{"memory request in Mi", limited, "", "requests.memory", "1Mi", "32", false},
		{"cpu request", limited, "", "requests.cpu", "1m", "250", false},
		{"ephemeral-storage limit in Ki", limited, "", "limits.ephemeral-storage", "1Ki", "131072", false},
		{"unset request is zero", limited, "", "requests.ephemeral-storage", "", "0", false},
		{"unset cpu limit is the node's", bare, "", "limits.cpu", "", "4", false},
		{"unset memory limit is the node's", bare, "", "limits.memory", "1Mi", "2048", false},
		{"unset storage limit is the node's", bare, "", "limits.ephemeral-storage", "1Gi", "10", false},
		{"zero divisor is one", limited, "", "limits.memory", "0", "67108864", false},
		{"named container", bare, "limited", "limits.memory", "1Mi", "64", false},
		{"named init container", nil, "setup", "limits.memory", "1Mi", "1024", false},
		{"missing container", nil, "nope", "limits.cpu", "", "", true},
		{"unsupported resource", limited, "", "limits.gpu", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := &corev1.ResourceFieldSelector{ContainerName: tt.container, Resource: tt.resource}
			if tt.divisor != "" {
				ref.Divisor = &metav1.Quantity{String_: tt.divisor}
			}
			got, err := Resource(pod, tt.self, ref, node)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
