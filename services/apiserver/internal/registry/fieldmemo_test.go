package registry

import (
	"testing"

	"k8s.io/apimachinery/pkg/fields"

	corev1 "skiff.dev/api/core/v1"
)

func TestFieldMemo(t *testing.T) {
	var m fieldMemo
	calls := 0
	compute := func(name string) func() fields.Set {
		return func() fields.Set { calls++; return fields.Set{"metadata.name": name} }
	}
	a, b := &corev1.Pod{}, &corev1.Pod{}
	for range 3 {
		if got := m.get(a, compute("a")); got["metadata.name"] != "a" {
			t.Fatalf("a: %v", got)
		}
		if got := m.get(b, compute("b")); got["metadata.name"] != "b" {
			t.Fatalf("b: %v", got)
		}
	}
	if calls != 2 {
		t.Errorf("computed %d times for two objects, want 2", calls)
	}
	// Equal content, another object: computed afresh.
	if got := m.get(&corev1.Pod{}, compute("c")); got["metadata.name"] != "c" || calls != 3 {
		t.Errorf("a new object: %v after %d computations", got, calls)
	}
}
