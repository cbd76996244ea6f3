package scheduler

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// gate holds PreBind until release says how it ends, and records the
// reserve calls.
type gate struct {
	release   chan error
	entered   chan struct{}
	reserved  []string
	unreserve int
}

func (*gate) Name() string { return "Gate" }

func (g *gate) Reserve(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, node string) *framework.Status {
	g.reserved = append(g.reserved, node)
	return nil
}

func (g *gate) Unreserve(context.Context, *framework.CycleState, *corev1.Pod, string) { g.unreserve++ }

func (g *gate) PreBind(context.Context, *framework.CycleState, *corev1.Pod, string) *framework.Status {
	close(g.entered)
	if err := <-g.release; err != nil {
		return framework.AsStatus(err)
	}
	return nil
}

func TestPodIsBoundOnlyAfterPreBind(t *testing.T) {
	for _, tc := range []struct {
		name    string
		outcome error
	}{
		{name: "pre-bind succeeds"},
		{name: "pre-bind fails", outcome: errors.New("binding volumes: timed out waiting for the condition")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPreemptEnv(t, "n1")
			g := &gate{release: make(chan error), entered: make(chan struct{})}
			p := e.s.Profiles["default-scheduler"]
			p.Reserve, p.PreBind = []framework.ReservePlugin{g}, []framework.PreBindPlugin{g}
			pod := cpuPod("p", "100m", 0, "")
			e.q.Add(pod)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			qp, _ := e.q.Pop(ctx)
			e.s.ScheduleOne(ctx, qp)
			<-g.entered
			e.r.mu.Lock()
			bound := len(e.r.bound)
			e.r.mu.Unlock()
			if bound != 0 || len(g.reserved) != 1 || g.reserved[0] != "n1" {
				t.Fatalf("before PreBind ends: bound %v, reserved %v; want none and n1", e.r.bound, g.reserved)
			}
			g.release <- tc.outcome
			e.s.binds.Wait()
			if tc.outcome == nil {
				if e.r.bound["p"] != "n1" || g.unreserve != 0 {
					t.Fatalf("bound %v, unreserved %d times; want p on n1, never", e.r.bound, g.unreserve)
				}
				return
			}
			want := `running PreBind plugin "Gate": binding volumes: timed out waiting for the condition`
			if len(e.r.bound) != 0 || g.unreserve != 1 || e.r.unschedulable["p"] != want {
				t.Fatalf("bound %v, unreserved %d, message %q; want none, 1, %q", e.r.bound, g.unreserve, e.r.unschedulable["p"], want)
			}
		})
	}
}
