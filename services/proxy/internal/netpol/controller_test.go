package netpol

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// TestSamePod checks which pod updates wake a sync: a new address or new
// labels do, status changes enforcement cannot see do not.
func TestSamePod(t *testing.T) {
	base := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{"a": "b"}},
		Spec:     &corev1.PodSpec{NodeName: ptr("n")},
		Status:   &corev1.PodStatus{Phase: "Running", PodIp: "10.244.1.2"},
	}
	change := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := proto.Clone(base).(*corev1.Pod)
		mut(p)
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		same bool
	}{
		{"a condition", change(func(p *corev1.Pod) { p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready"}} }), true},
		{"an annotation", change(func(p *corev1.Pod) { p.Metadata.Annotations = map[string]string{"x": "y"} }), true},
		{"a label", change(func(p *corev1.Pod) { p.Metadata.Labels = map[string]string{"a": "c"} }), false},
		{"the address", change(func(p *corev1.Pod) { p.Status.PodIp = "10.244.1.3" }), false},
		{"finished", change(func(p *corev1.Pod) { p.Status.Phase = "Succeeded" }), false},
	}
	for _, tt := range tests {
		if got := samePod(base, tt.pod); got != tt.same {
			t.Errorf("%s: got same %v, want %v", tt.name, got, tt.same)
		}
	}
}

// TestNewBackendWithoutNft checks that a host without nft gets an error
// naming the flag that runs without enforcement.
func TestNewBackendWithoutNft(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := NewBackend("n")
	if err == nil || !strings.Contains(err.Error(), "--network-policy=false") {
		t.Errorf("got %v, want an error naming --network-policy=false", err)
	}
}
