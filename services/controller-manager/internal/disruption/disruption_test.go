package disruption

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
)

func TestScaled(t *testing.T) {
	for _, tc := range []struct {
		v     *metav1.IntOrString
		total int32
		want  int32
	}{
		{&metav1.IntOrString{IntVal: 3}, 10, 3},
		{&metav1.IntOrString{Type: 1, StrVal: "50%"}, 5, 3}, // rounded up
		{&metav1.IntOrString{Type: 1, StrVal: "100%"}, 4, 4},
		{&metav1.IntOrString{Type: 1, StrVal: "0%"}, 4, 0},
		{&metav1.IntOrString{Type: 1, StrVal: "34%"}, 3, 2},
	} {
		got, err := scaled(tc.v, tc.total)
		if err != nil || got != tc.want {
			t.Errorf("scaled(%v, %d): got %d, %v, want %d", tc.v, tc.total, got, err, tc.want)
		}
	}
	if _, err := scaled(&metav1.IntOrString{Type: 1, StrVal: "x"}, 3); err == nil {
		t.Error("scaled of a bad percentage: got no error")
	}
}

func pod(name string, ready bool, deleting bool) *corev1.Pod {
	status := "False"
	if ready {
		status = "True"
	}
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Status: &corev1.PodStatus{Phase: "Running", Conditions: []*corev1.PodCondition{{Type: "Ready", Status: status}}}}
	if deleting {
		p.Metadata.DeletionTimestamp = timestamppb.Now()
	}
	return p
}

// TestHealthyAndDisrupted: pods whose eviction was granted recently, or
// that are going, or are not Ready, are not healthy; granted evictions
// older than the timeout, or of pods gone or going, are forgotten, and
// the controller looks again when the first kept one expires.
func TestHealthyAndDisrupted(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	pods := []*corev1.Pod{pod("a", true, false), pod("b", true, false), pod("c", true, false),
		pod("d", false, false), pod("e", true, true)}
	pdb := &policyv1.PodDisruptionBudget{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Status: &policyv1.PodDisruptionBudgetStatus{DisruptedPods: map[string]*timestamppb.Timestamp{
			"a":    timestamppb.New(now.Add(-30 * time.Second)), // recent: kept
			"b":    timestamppb.New(now.Add(-3 * time.Minute)),  // stale: dropped
			"e":    timestamppb.New(now.Add(-10 * time.Second)), // being deleted: dropped
			"gone": timestamppb.New(now.Add(-10 * time.Second)), // no such pod: dropped
		}}}
	dc := &Controller{Now: func() time.Time { return now }}
	disrupted, recheck := dc.disruptedPods(pods, pdb, now)
	if len(disrupted) != 1 || disrupted["a"] == nil {
		t.Fatalf("disrupted pods: got %v, want only a", disrupted)
	}
	if want := now.Add(90 * time.Second); !recheck.Equal(want) {
		t.Errorf("recheck: got %v, want %v", recheck, want)
	}
	if got := countHealthy(pods, disrupted, now); got != 2 { // b and c
		t.Errorf("healthy: got %d, want 2", got)
	}
}

func TestConditionUpToDate(t *testing.T) {
	pdb := &policyv1.PodDisruptionBudget{Metadata: &metav1.ObjectMeta{Generation: 2},
		Status: &policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 2, DisruptionsAllowed: 1,
			Conditions: []*metav1.Condition{{Type: "DisruptionAllowed", Status: "True", Reason: "SufficientPods", ObservedGeneration: 2}}}}
	if !conditionUpToDate(pdb) {
		t.Error("a matching condition: got not up to date")
	}
	pdb.Status.DisruptionsAllowed = 0
	if conditionUpToDate(pdb) {
		t.Error("True with no disruption allowed: got up to date")
	}
}
