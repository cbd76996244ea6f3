package preemption

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// pod requests milli cpu at a priority, started minutesAgo (-1: not
// started).
func pod(name string, milli int64, priority int32, minutesAgo int) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Uid: name, Namespace: "default"},
		Spec: &corev1.PodSpec{Priority: proto.Int32(priority), Containers: []*corev1.Container{{Name: "c",
			Resources: &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{
				"cpu": {String_: milliCPU(milli)}}}}}},
		Status: &corev1.PodStatus{}}
	if minutesAgo >= 0 {
		p.Status.StartTime = timestamppb.New(now.Add(-time.Duration(minutesAgo) * time.Minute))
	}
	return p
}

// node has milli cpu and runs pods.
func node(name string, milli int64, pods ...*corev1.Pod) *framework.NodeInfo {
	n := framework.NewNodeInfo(&corev1.Node{Metadata: &metav1.ObjectMeta{Name: name},
		Status: &corev1.NodeStatus{Allocatable: map[string]*metav1.Quantity{"cpu": {String_: milliCPU(milli)}, "pods": {String_: "110"}}}})
	for _, p := range pods {
		n.AddPod(p)
	}
	return n
}

// cpuFits is a fit on cpu alone.
func cpuFits(p *corev1.Pod) Fits {
	need := framework.PodRequests(p).MilliCPU
	return func(n *framework.NodeInfo) *framework.Status {
		if n.Requested.MilliCPU+need > n.Allocatable.MilliCPU {
			return framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
		}
		return nil
	}
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.GetMetadata().GetName())
	}
	return out
}

// protect is a budget set that protects the named pods.
type protect []string

func (pr protect) Split(pods []*corev1.Pod) (violating, rest []*corev1.Pod) {
	for _, p := range pods {
		if slices.Contains(pr, p.GetMetadata().GetName()) {
			violating = append(violating, p)
		} else {
			rest = append(rest, p)
		}
	}
	return violating, rest
}

func TestSelectVictims(t *testing.T) {
	tests := []struct {
		name           string
		preemptor      *corev1.Pod
		node           *framework.NodeInfo
		budgets        Budgets
		want           []string // victims, most important first
		wantViolations int
		refused        string
	}{
		{name: "one low pod makes room", preemptor: pod("hi", 600, 100, -1),
			node: node("n", 1000, pod("lo", 600, 0, 5)), want: []string{"lo"}},
		{name: "the most important are reprieved first", preemptor: pod("hi", 500, 100, -1),
			node: node("n", 1000, pod("a", 300, 10, 5), pod("b", 300, 20, 5), pod("c", 300, 5, 5)),
			want: []string{"a", "c"}},
		{name: "equal priority breaks ties by start, older kept", preemptor: pod("hi", 500, 100, -1),
			node: node("n", 1000, pod("young", 500, 1, 1), pod("old", 500, 1, 60)), want: []string{"young"}},
		{name: "equal or higher priority is never a victim", preemptor: pod("hi", 600, 100, -1),
			node:    node("n", 1000, pod("same", 600, 100, 5)),
			refused: NoVictims},
		{name: "does not fit even without victims", preemptor: pod("hi", 900, 100, -1),
			node:    node("n", 1000, pod("lo", 300, 0, 5), pod("high", 300, 200, 5)),
			refused: "Insufficient cpu"},
		{name: "budget-protected pods are reprieved first", preemptor: pod("hi", 500, 100, -1),
			node:    node("n", 1000, pod("guarded", 500, 10, 5), pod("free", 500, 10, 5)),
			budgets: protect{"guarded"}, want: []string{"free"}},
		{name: "violations are counted when unavoidable", preemptor: pod("hi", 1000, 100, -1),
			node:    node("n", 1000, pod("guarded", 500, 10, 5), pod("free", 500, 10, 5)),
			budgets: protect{"guarded"}, want: []string{"guarded", "free"}, wantViolations: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.node.Pods)
			c, st := SelectVictims(tt.preemptor, tt.node, cpuFits(tt.preemptor), tt.budgets, now)
			if len(tt.node.Pods) != before {
				t.Fatalf("the node's pods changed: %d, want %d", len(tt.node.Pods), before)
			}
			if tt.refused != "" {
				if c != nil || st.IsSuccess() || st.Message() != tt.refused {
					t.Fatalf("got candidate %v status %v, want refused %q", c, st, tt.refused)
				}
				return
			}
			if c == nil {
				t.Fatalf("got status %v, want victims %v", st, tt.want)
			}
			if got := names(c.Victims); !slices.Equal(got, tt.want) || c.Violations != tt.wantViolations {
				t.Errorf("got victims %v (%d violations), want %v (%d)", got, c.Violations, tt.want, tt.wantViolations)
			}
		})
	}
}

func TestPickNode(t *testing.T) {
	cand := func(node string, violations int, victims ...*corev1.Pod) *Candidate {
		return &Candidate{Node: node, Victims: victims, Violations: violations}
	}
	tests := []struct {
		name  string
		cands []*Candidate
		want  string
	}{
		{"no victims wins at once", []*Candidate{cand("a", 0, pod("x", 1, 0, 1)), cand("b", 0)}, "b"},
		{"fewest budget violations", []*Candidate{cand("a", 1, pod("x", 1, 0, 1)), cand("b", 0, pod("y", 1, 50, 1), pod("z", 1, 50, 1))}, "b"},
		{"lowest highest victim priority", []*Candidate{cand("a", 0, pod("x", 1, 20, 1)), cand("b", 0, pod("y", 1, 10, 1), pod("z", 1, 10, 1))}, "b"},
		{"smallest priority sum", []*Candidate{cand("a", 0, pod("x", 1, 10, 1), pod("x2", 1, 10, 1)), cand("b", 0, pod("y", 1, 10, 1), pod("y2", 1, 5, 1))}, "b"},
		{"negative priorities sum as Kubernetes sums them", []*Candidate{
			cand("a", 0, pod("x", 1, -5, 1), pod("x2", 1, -5, 1)), cand("b", 0, pod("y", 1, -5, 1))}, "b"},
		{"fewest victims", []*Candidate{cand("a", 0, pod("x", 1, 0, 1), pod("x2", 1, 0, 1)), cand("b", 0, pod("y", 1, 0, 1))}, "b"},
		{"latest start of the top victims", []*Candidate{cand("a", 0, pod("x", 1, 7, 60)), cand("b", 0, pod("y", 1, 7, 5))}, "b"},
		{"first of equals", []*Candidate{cand("a", 0, pod("x", 1, 7, 5)), cand("b", 0, pod("y", 1, 7, 5))}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PickNode(tt.cands, now); got == nil || got.Node != tt.want {
				t.Errorf("got %v, want node %s", got, tt.want)
			}
		})
	}
	if PickNode(nil, now) != nil {
		t.Error("no candidates: got a node, want nil")
	}
}

func TestTerminatingByPreemption(t *testing.T) {
	p := pod("v", 1, 0, 1)
	p.Status.Conditions = []*corev1.PodCondition{{Type: ConditionDisruptionTarget, Status: "True", Reason: ReasonPreemptionByScheduler}}
	if TerminatingByPreemption(p) {
		t.Error("not deleted yet: got terminating")
	}
	p.Metadata.DeletionTimestamp = timestamppb.New(now)
	if !TerminatingByPreemption(p) {
		t.Error("deleted with the condition: got not terminating")
	}
}

func milliCPU(m int64) string { return strconv.FormatInt(m, 10) + "m" }
