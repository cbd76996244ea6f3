package scheduler

import (
	"context"
	"fmt"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/scheduler/internal/framework"
	"skiff.dev/services/scheduler/internal/plugins"
)

func TestNumFeasibleNodesToFind(t *testing.T) {
	for _, c := range []struct {
		nodes      int
		percentage int32
		want       int
	}{
		{nodes: 10, want: 10},
		{nodes: 99, want: 99},
		{nodes: 100, want: 100},
		{nodes: 1000, want: 420},  // 50 - 1000/125 = 42%
		{nodes: 5000, want: 500},  // 10%
		{nodes: 10000, want: 500}, // the 5% floor
		{nodes: 1500, percentage: 1, want: 100},
		{nodes: 5000, percentage: 30, want: 1500},
		{nodes: 5000, percentage: 100, want: 5000},
	} {
		if got := numFeasibleNodesToFind(c.nodes, c.percentage); got != c.want {
			t.Errorf("%d nodes at %d%%: %d, want %d", c.nodes, c.percentage, got, c.want)
		}
	}
}

func nodes(n int, unschedulable func(i int) bool) []*framework.NodeInfo {
	out := make([]*framework.NodeInfo, n)
	for i := range out {
		u := unschedulable(i)
		out[i] = framework.NewNodeInfo(&corev1.Node{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("n%04d", i)},
			Spec: &corev1.NodeSpec{Unschedulable: u}})
	}
	return out
}

func TestFilterStopsEarlyAndRotates(t *testing.T) {
	s := &Scheduler{}
	p := &Profile{Filter: []framework.FilterPlugin{plugins.NodeUnschedulable{}}}
	all := nodes(1000, func(int) bool { return false })
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{}}
	state := framework.NewCycleState(all)

	seen := map[string]int{}
	for cycle := 0; cycle < 5; cycle++ {
		feasible, statuses := s.filter(context.Background(), p, state, pod, all, nil)
		failures := failed(statuses)
		if len(feasible) != 420 || len(failures) != 0 {
			t.Fatalf("cycle %d: %d feasible, %d failures; want 420 and 0", cycle, len(feasible), len(failures))
		}
		for _, n := range feasible {
			seen[n.Name()]++
		}
	}
	// Five cycles of 420 from a rotating start cover every node.
	if len(seen) != 1000 {
		t.Fatalf("%d of 1000 nodes considered over five cycles", len(seen))
	}
}

func TestFilterReportsEveryNodeWhenNoneFits(t *testing.T) {
	s := &Scheduler{}
	p := &Profile{Filter: []framework.FilterPlugin{plugins.NodeUnschedulable{}}}
	all := nodes(300, func(i int) bool { return i != 299 })
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{}}
	feasible, statuses := s.filter(context.Background(), p, framework.NewCycleState(all), pod, all, nil)
	failures := failed(statuses)
	if len(feasible) != 1 || feasible[0].Name() != "n0299" || len(failures) != 299 {
		t.Fatalf("%d feasible, %d failures", len(feasible), len(failures))
	}
	all = nodes(300, func(int) bool { return true })
	feasible, statuses = s.filter(context.Background(), p, framework.NewCycleState(all), pod, all, nil)
	failures = failed(statuses)
	if len(feasible) != 0 || len(failures) != 300 {
		t.Fatalf("%d feasible, %d failures", len(feasible), len(failures))
	}
	if got, want := failureMessage(300, failures), "0/300 nodes are available: 300 node(s) were unschedulable."; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}

// failed keeps the statuses of the nodes that did not fit.
func failed(statuses []*framework.Status) []*framework.Status {
	var out []*framework.Status
	for _, st := range statuses {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}
