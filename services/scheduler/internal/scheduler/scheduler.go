// Package scheduler is the scheduling loop: it takes pending pods from the
// queue one at a time, filters and scores the nodes of a cache snapshot,
// assumes the pod onto the best node and binds it in the background, and
// reports pods no node fits the way Kubernetes does.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/scheduler/internal/cache"
	"skiff.dev/services/scheduler/internal/framework"
	"skiff.dev/services/scheduler/internal/queue"
)

// Binder writes scheduling outcomes to the apiserver.
type Binder interface {
	Bind(ctx context.Context, pod *corev1.Pod, node string) error
	// Unschedulable records why no node fits: the PodScheduled condition
	// and a FailedScheduling event.
	Unschedulable(ctx context.Context, pod *corev1.Pod, message string) error
}

// Observer is told about every scheduling attempt (metrics).
type Observer func(result string, d time.Duration)

// Scheduler schedules pods.
type Scheduler struct {
	Cache    *cache.Cache
	Queue    *queue.Queue
	Profiles map[string]*Profile
	Binder   Binder
	Observe  Observer

	binds sync.WaitGroup
}

// Run schedules until ctx ends, then waits for bindings in flight.
func (s *Scheduler) Run(ctx context.Context) {
	defer s.binds.Wait()
	for {
		qp, ok := s.Queue.Pop(ctx)
		if !ok {
			return
		}
		s.ScheduleOne(ctx, qp)
	}
}

// ScheduleOne runs one scheduling cycle for a pod.
func (s *Scheduler) ScheduleOne(ctx context.Context, qp *queue.QueuedPod) {
	start := time.Now()
	pod := qp.Pod
	profile, ok := s.Profiles[pod.GetSpec().GetSchedulerName()]
	if !ok {
		s.Queue.Done(qp) // another scheduler's pod
		return
	}
	// The attempt is a span in the trace that created the pod.
	ctx = telemetry.ContextFromAnnotations(ctx, pod.GetMetadata().GetAnnotations())
	ctx, span := tracer.Start(ctx, "schedule pod", trace.WithAttributes(
		attribute.String("pod", key(pod)), attribute.Int("attempt", qp.Attempts)))
	defer span.End()
	host, status := s.place(ctx, profile, pod)
	span.SetAttributes(attribute.String("node", host), attribute.String("status", status.Message()))
	switch {
	case status.IsSuccess():
	case status.Code == framework.Error:
		slog.ErrorContext(ctx, "scheduling failed", "pod", key(pod), "err", status.Err)
		s.observe("error", start)
		s.Queue.Backoff(qp)
		return
	default:
		s.observe("unschedulable", start)
		if err := s.Binder.Unschedulable(ctx, pod, status.Message()); err != nil {
			slog.WarnContext(ctx, "record unschedulable pod", "pod", key(pod), "err", err)
		}
		s.Queue.Unschedulable(qp)
		return
	}
	assumed := proto.Clone(pod).(*corev1.Pod)
	assumed.Spec.NodeName = proto.String(host)
	s.Cache.Assume(assumed)
	s.observe("scheduled", start)
	s.binds.Add(1)
	bindCtx := ctx // a leader that loses the lead stops binding too
	go func() {
		defer s.binds.Done()
		ctx, span := tracer.Start(bindCtx, "bind pod", trace.WithAttributes(attribute.String("node", host)))
		defer span.End()
		if err := s.Binder.Bind(ctx, pod, host); err != nil {
			slog.WarnContext(ctx, "bind failed", "pod", key(pod), "node", host, "err", err)
			s.Cache.Forget(assumed)
			s.Queue.Backoff(qp)
			return
		}
		s.Cache.FinishBinding(assumed)
		s.Queue.Done(qp)
	}()
}

func (s *Scheduler) observe(result string, start time.Time) {
	if s.Observe != nil {
		s.Observe(result, time.Since(start))
	}
}

var tracer = otel.Tracer("skiff.dev/services/scheduler")

func key(p *corev1.Pod) string {
	return p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
}

// place picks a node, or says why there is none.
func (s *Scheduler) place(ctx context.Context, p *Profile, pod *corev1.Pod) (string, *framework.Status) {
	nodes := s.Cache.Snapshot()
	state := framework.NewCycleState(nodes)
	for _, pl := range p.PreFilter {
		if st := pl.PreFilter(ctx, state, pod); !st.IsSuccess() {
			st.Plugin = pl.Name()
			return "", st
		}
	}
	if len(nodes) == 0 {
		return "", framework.NewStatus(framework.Unschedulable, "0/0 nodes are available: no nodes available to schedule pods.")
	}
	feasible, failures := filter(ctx, p, state, pod, nodes)
	for _, pl := range p.BatchFilter {
		if len(feasible) == 0 {
			break
		}
		rejected, st := pl.FilterNodes(ctx, state, pod, feasible)
		if !st.IsSuccess() {
			st.Plugin = pl.Name()
			return "", st
		}
		kept := feasible[:0:0]
		for _, n := range feasible {
			if r, ok := rejected[n.Name()]; ok && !r.IsSuccess() {
				r.Plugin = pl.Name()
				failures = append(failures, r)
				continue
			}
			kept = append(kept, n)
		}
		feasible = kept
	}
	if len(feasible) == 0 {
		for _, st := range failures {
			if st.Code == framework.Error {
				return "", st
			}
		}
		return "", framework.NewStatus(framework.Unschedulable, failureMessage(len(nodes), failures))
	}
	if len(feasible) == 1 {
		return permit(ctx, p, state, pod, feasible[0].Name())
	}
	for _, pl := range p.PreScore {
		if st := pl.PreScore(ctx, state, pod, feasible); !st.IsSuccess() {
			st.Plugin = pl.Name()
			return "", st
		}
	}
	scores, st := score(ctx, p, state, pod, feasible)
	if !st.IsSuccess() {
		return "", st
	}
	return permit(ctx, p, state, pod, best(feasible, scores))
}

// permit asks the permit plugins about the node chosen.
func permit(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, host string) (string, *framework.Status) {
	for _, pl := range p.Permit {
		if st := pl.Permit(ctx, state, pod, host); !st.IsSuccess() {
			st.Plugin = pl.Name()
			return "", st
		}
	}
	return host, nil
}

// filter runs the filters over every node in parallel.
func filter(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) ([]*framework.NodeInfo, []*framework.Status) {
	fits := make([]bool, len(nodes))
	statuses := make([]*framework.Status, len(nodes))
	workers := min(runtime.GOMAXPROCS(0)*2, len(nodes))
	chunk := (len(nodes) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(nodes))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				statuses[i] = filterNode(ctx, p, state, pod, nodes[i])
				fits[i] = statuses[i].IsSuccess()
			}
		}()
	}
	wg.Wait()
	var feasible []*framework.NodeInfo
	var failures []*framework.Status
	for i, ok := range fits {
		if ok {
			feasible = append(feasible, nodes[i])
		} else {
			failures = append(failures, statuses[i])
		}
	}
	return feasible, failures
}

func filterNode(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	for _, pl := range p.Filter {
		if st := pl.Filter(ctx, state, pod, n); !st.IsSuccess() {
			st.Plugin = pl.Name()
			return st
		}
	}
	return nil
}

// failureMessage reads like Kubernetes': "0/3 nodes are available: 1
// node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu."
func failureMessage(total int, failures []*framework.Status) string {
	counts := map[string]int{}
	for _, st := range failures {
		for _, r := range st.Reasons {
			counts[r]++
		}
	}
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", total, strings.Join(parts, ", "))
}

// score sums each plugin's normalized, weighted scores per node.
func score(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (map[string]int64, *framework.Status) {
	total := make(map[string]int64, len(nodes))
	for _, ws := range p.Score {
		scores := make(map[string]int64, len(nodes))
		for _, n := range nodes {
			v, st := ws.Plugin.Score(ctx, state, pod, n)
			if !st.IsSuccess() {
				st.Plugin = ws.Plugin.Name()
				return nil, st
			}
			scores[n.Name()] = v
		}
		if norm, ok := ws.Plugin.(framework.NormalizeScorePlugin); ok {
			if st := norm.NormalizeScore(ctx, state, pod, scores); !st.IsSuccess() {
				st.Plugin = ws.Plugin.Name()
				return nil, st
			}
		}
		for name, v := range scores {
			total[name] += v * ws.Weight
		}
	}
	for _, ws := range p.BatchScore {
		scores, st := ws.Plugin.ScoreNodes(ctx, state, pod, nodes)
		if !st.IsSuccess() {
			st.Plugin = ws.Plugin.Name()
			return nil, st
		}
		for name, v := range scores {
			total[name] += min(max(v, 0), framework.MaxNodeScore) * ws.Weight
		}
	}
	return total, nil
}

// best picks the highest score, at random among ties so equal nodes share
// the load.
func best(nodes []*framework.NodeInfo, scores map[string]int64) string {
	var top []string
	var high int64 = -1
	for _, n := range nodes {
		switch v := scores[n.Name()]; {
		case v > high:
			high, top = v, []string{n.Name()}
		case v == high:
			top = append(top, n.Name())
		}
	}
	return top[rand.IntN(len(top))]
}
