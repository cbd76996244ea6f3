package scheduler

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/scheduler/internal/cache"
	"skiff.dev/services/scheduler/internal/framework"
	"skiff.dev/services/scheduler/internal/plugins"
	"skiff.dev/services/scheduler/internal/queue"
)

// recorder is a Binder and Evictor that remembers what it was asked.
type recorder struct {
	mu            sync.Mutex
	bound         map[string]string
	unschedulable map[string]string
	nominated     map[string]string
	evicted       []string
}

func newRecorder() *recorder {
	return &recorder{bound: map[string]string{}, unschedulable: map[string]string{}, nominated: map[string]string{}}
}

func (r *recorder) Bind(_ context.Context, pod *corev1.Pod, node string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bound[pod.GetMetadata().GetName()] = node
	return nil
}

func (r *recorder) Unschedulable(_ context.Context, pod *corev1.Pod, message string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unschedulable[pod.GetMetadata().GetName()] = message
	return nil
}

func (r *recorder) Nominate(_ context.Context, pod *corev1.Pod, node string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nominated[pod.GetMetadata().GetName()] = node
	return nil
}

func (r *recorder) Evict(_ context.Context, _ *corev1.Pod, _ string, victim *corev1.Pod) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evicted = append(r.evicted, victim.GetMetadata().GetName())
	return nil
}

func cpuPod(name, cpu string, priority int32, node string) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Uid: name},
		Spec: &corev1.PodSpec{SchedulerName: proto.String("default-scheduler"), Priority: proto.Int32(priority), NodeName: proto.String(node),
			Containers: []*corev1.Container{{Name: "c", Resources: &corev1.ResourceRequirements{
				Requests: map[string]*metav1.Quantity{"cpu": {String_: cpu}}}}}}}
}

type preemptEnv struct {
	t     *testing.T
	s     *Scheduler
	q     *queue.Queue
	c     *cache.Cache
	r     *recorder
	nodes int
}

func newPreemptEnv(t *testing.T, nodes ...string) *preemptEnv {
	c := cache.New(nil, time.Minute)
	for _, n := range nodes {
		c.SetNode(&corev1.Node{Metadata: &metav1.ObjectMeta{Name: n}, Status: &corev1.NodeStatus{
			Allocatable: map[string]*metav1.Quantity{"cpu": {String_: "1"}, "pods": {String_: "110"}}}})
	}
	q := queue.New(queue.Options{})
	r := newRecorder()
	p := &Profile{SchedulerName: "default-scheduler", Filter: []framework.FilterPlugin{plugins.NodeResourcesFit{}}}
	s := &Scheduler{Cache: c, Queue: q, Profiles: map[string]*Profile{"default-scheduler": p}, Binder: r, Evictor: r}
	return &preemptEnv{t: t, s: s, q: q, c: c, r: r, nodes: len(nodes)}
}

// schedule runs one cycle for pod and waits for its background writes.
func (e *preemptEnv) schedule(pod *corev1.Pod) {
	e.t.Helper()
	e.q.Add(pod)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qp, ok := e.q.Pop(ctx)
	if !ok {
		e.t.Fatal("queue empty")
	}
	e.s.ScheduleOne(ctx, qp)
	e.s.binds.Wait()
}

func TestPreemptionNominatesAndEvicts(t *testing.T) {
	e := newPreemptEnv(t, "n1")
	low := cpuPod("low", "600m", 0, "n1")
	e.c.SetPod(low)
	high := cpuPod("high", "600m", 100, "")
	e.schedule(high)
	if got := e.r.nominated["high"]; got != "n1" {
		t.Fatalf("nominated node %q, want n1", got)
	}
	if len(e.r.evicted) != 1 || e.r.evicted[0] != "low" {
		t.Fatalf("evicted %v, want [low]", e.r.evicted)
	}
	if got, want := e.r.unschedulable["high"], "0/1 nodes are available: 1 Insufficient cpu."; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}

	// The victim is gone: a pod of lower priority than the preemptor may
	// not take its room, the preemptor then binds there.
	e.c.RemovePod(low)
	e.q.Delete(high) // waiting elsewhere; it stays nominated
	middle := cpuPod("middle", "600m", 50, "")
	e.schedule(middle)
	if _, ok := e.r.bound["middle"]; ok {
		t.Fatal("a lower-priority pod took the room nominated to the preemptor")
	}
	if len(e.r.evicted) != 1 {
		t.Fatalf("evicted %v: the preemptor's nomination was preempted", e.r.evicted)
	}
	e.q.Delete(middle)
	e.schedule(high)
	if got := e.r.bound["high"]; got != "n1" {
		t.Fatalf("preemptor bound to %q, want n1", got)
	}
	if e.s.Nominator.NodeOf(high) != "" {
		t.Fatal("the bound preemptor is still nominated")
	}
}

func TestPreemptionHigherPriorityIgnoresNomination(t *testing.T) {
	e := newPreemptEnv(t, "n1")
	e.s.nominator().Add(cpuPod("nominee", "600m", 10, ""), "n1")
	top := cpuPod("top", "600m", 1000, "")
	e.schedule(top)
	if got := e.r.bound["top"]; got != "n1" {
		t.Fatalf("bound to %q, want n1: a nomination of lower priority holds no room", got)
	}
}

func TestPreemptionRefused(t *testing.T) {
	tests := []struct {
		name      string
		preemptor *corev1.Pod
		want      string
	}{
		{"policy Never", func() *corev1.Pod {
			p := cpuPod("polite", "600m", 100, "")
			p.Spec.PreemptionPolicy = proto.String("Never")
			return p
		}(), "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."},
		{"equal priority", cpuPod("peer", "600m", 0, ""),
			"0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."},
		{"too big even alone", cpuPod("huge", "2", 100, ""),
			"0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newPreemptEnv(t, "n1")
			e.c.SetPod(cpuPod("low", "600m", 0, "n1"))
			e.schedule(tt.preemptor)
			name := tt.preemptor.GetMetadata().GetName()
			if len(e.r.evicted) != 0 || e.r.nominated[name] != "" {
				t.Fatalf("evicted %v, nominated %q; want nothing", e.r.evicted, e.r.nominated[name])
			}
			if got := e.r.unschedulable[name]; got != tt.want {
				t.Fatalf("message %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPreemptionWaitsForTerminatingVictims(t *testing.T) {
	e := newPreemptEnv(t, "n1")
	victim := cpuPod("low", "600m", 0, "n1")
	victim.Metadata.DeletionTimestamp = nowStamp()
	victim.Status = &corev1.PodStatus{Conditions: []*corev1.PodCondition{{Type: "DisruptionTarget", Status: "True", Reason: "PreemptionByScheduler"}}}
	e.c.SetPod(victim)
	e.c.SetPod(cpuPod("other", "300m", 0, "n1"))
	high := cpuPod("high", "600m", 100, "")
	e.s.nominator().Add(high, "n1")
	e.schedule(high)
	if got := e.r.unschedulable["high"]; !strings.HasSuffix(got, "preemption: not eligible due to a terminating pod on the nominated node.") {
		t.Fatalf("message %q, want it to wait for the terminating victim", got)
	}
	if len(e.r.evicted) != 0 {
		t.Fatalf("evicted %v while a victim terminates", e.r.evicted)
	}
}

func nowStamp() *timestamppb.Timestamp { return timestamppb.Now() }
