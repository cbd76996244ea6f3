package plugins

import (
	"context"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

func TestPodsWithoutRequestsSpread(t *testing.T) {
	alloc := map[string]*metav1.Quantity{"cpu": {String_: "4"}, "memory": {String_: "8Gi"}, "pods": {String_: "110"}}
	newNode := func(name string) *framework.NodeInfo {
		return framework.NewNodeInfo(&corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}, Status: &corev1.NodeStatus{Allocatable: alloc}})
	}
	bare := func(name string) *corev1.Pod {
		return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Uid: name},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "i"}}}}
	}
	busy, empty := newNode("busy"), newNode("empty")
	busy.AddPod(bare("running"))
	state := framework.NewCycleState([]*framework.NodeInfo{busy, empty})
	pod := bare("new")
	fit := NodeResourcesFit{}
	if st := fit.PreFilter(context.Background(), state, pod); !st.IsSuccess() {
		t.Fatal(st)
	}
	onBusy, _ := fit.Score(context.Background(), state, pod, busy)
	onEmpty, _ := fit.Score(context.Background(), state, pod, empty)
	if onEmpty <= onBusy {
		t.Fatalf("a pod without requests scores %d on the empty node and %d on the busy one; want the empty node preferred", onEmpty, onBusy)
	}
	busy.RemovePod("running")
	if busy.NonZeroCPU != 0 || busy.NonZeroMemory != 0 {
		t.Fatalf("non-zero requests left after removing the pod: %d, %d", busy.NonZeroCPU, busy.NonZeroMemory)
	}
}
