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
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/scheduler/internal/cache"
	"skiff.dev/services/scheduler/internal/framework"
	"skiff.dev/services/scheduler/internal/nominator"
	"skiff.dev/services/scheduler/internal/preemption"
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
	// Evictor, when set, turns preemption on: a pod that fits no node
	// may evict pods of lower priority (preempt.go).
	Evictor Evictor
	// Budgets protects pods under PodDisruptionBudgets from preemption
	// where another choice exists; nil protects none.
	Budgets preemption.Budgets
	// Nominator holds the pods nominated to nodes by preemption; nil
	// makes a private one.
	Nominator *nominator.Nominator
	// PercentageOfNodesToScore bounds how many fitting nodes a cycle looks
	// for, as a share of all nodes; 0 is Kubernetes' adaptive default.
	PercentageOfNodesToScore int32

	nextStart int // where the next cycle starts filtering

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
	nodes, version := s.Cache.SnapshotVersion()
	state := framework.NewCycleState(nodes)
	state.NodesVersion = version
	host, status, diag := s.place(ctx, profile, state, pod)
	if status.IsSuccess() {
		status = reserve(ctx, profile, state, pod, host)
	}
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
		message := status.Message()
		if diag != nil {
			if post := s.preempt(ctx, profile, pod, diag); post != "" {
				message += " preemption: " + post
			}
		}
		if err := s.Binder.Unschedulable(ctx, pod, message); err != nil {
			slog.WarnContext(ctx, "record unschedulable pod", "pod", key(pod), "err", err)
		}
		s.Queue.Unschedulable(qp)
		return
	}
	s.nominator().Delete(pod)
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
		if st := preBind(ctx, profile, state, pod, host); !st.IsSuccess() {
			slog.WarnContext(ctx, "pre-bind failed", "pod", key(pod), "node", host, "plugin", st.Plugin, "err", st.Message())
			msg := fmt.Sprintf("running PreBind plugin %q: %s", st.Plugin, st.Message())
			if err := s.Binder.Unschedulable(ctx, pod, msg); err != nil {
				slog.WarnContext(ctx, "record pre-bind failure", "pod", key(pod), "err", err)
			}
			unreserve(ctx, profile, state, pod, host)
			s.Cache.Forget(assumed)
			s.Queue.Backoff(qp)
			return
		}
		if err := s.Binder.Bind(ctx, pod, host); err != nil {
			slog.WarnContext(ctx, "bind failed", "pod", key(pod), "node", host, "err", err)
			unreserve(ctx, profile, state, pod, host)
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

// place picks a node, or says why there is none; when filtering found no
// node, the diagnosis says how each node failed, for preemption.
func (s *Scheduler) place(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod) (string, *framework.Status, *diagnosis) {
	nodes := state.Nodes
	for _, pl := range p.PreFilter {
		st := pl.PreFilter(ctx, state, pod)
		switch {
		case st.IsSkip():
			state.SkipFilter(pl.Name())
		case st.IsSuccess():
		case st.Code == framework.Error:
			st.Plugin = pl.Name()
			return "", st, nil
		default:
			// As Kubernetes' FitError words a PreFilter rejection; every
			// node has failed with it, so preemption cannot help.
			fit := &framework.Status{Code: st.Code, Plugin: pl.Name(),
				Reasons: []string{fmt.Sprintf("0/%d nodes are available: %s.", len(nodes), st.Message())}}
			if st.Code != framework.UnschedulableAndUnresolvable || len(nodes) == 0 {
				return "", fit, nil
			}
			statuses := make([]*framework.Status, len(nodes))
			for i := range statuses {
				statuses[i] = st
			}
			return "", fit, &diagnosis{state: state, nodes: nodes, statuses: statuses}
		}
	}
	if len(nodes) == 0 {
		return "", framework.NewStatus(framework.Unschedulable, "0/0 nodes are available: no nodes available to schedule pods."), nil
	}
	nominated := s.nominator().Snapshot()
	if host, ok := s.nominatedFits(ctx, p, state, pod, nodes, nominated); ok {
		h, st := permit(ctx, p, state, pod, host)
		return h, st, nil
	}
	feasible, statuses := s.filter(ctx, p, state, pod, nodes, nominated)
	var failures []*framework.Status
	for _, st := range statuses {
		if st != nil {
			failures = append(failures, st)
		}
	}
	for _, pl := range p.BatchFilter {
		if len(feasible) == 0 {
			break
		}
		rejected, st := pl.FilterNodes(ctx, state, pod, feasible)
		if !st.IsSuccess() {
			st.Plugin = pl.Name()
			return "", st, nil
		}
		kept := feasible[:0:0]
		for _, n := range feasible {
			if r, ok := rejected[n.Name()]; ok && !r.IsSuccess() {
				r.Plugin = pl.Name()
				failures = append(failures, r)
				if i, found := nodeIndex(nodes, n.Name()); found {
					statuses[i] = r
				}
				continue
			}
			kept = append(kept, n)
		}
		feasible = kept
	}
	if len(feasible) == 0 {
		for _, st := range failures {
			if st.Code == framework.Error {
				return "", st, nil
			}
		}
		return "", framework.NewStatus(framework.Unschedulable, failureMessage(len(nodes), failures)),
			&diagnosis{state: state, nodes: nodes, statuses: statuses, nominated: nominated}
	}
	if len(feasible) == 1 {
		h, st := permit(ctx, p, state, pod, feasible[0].Name())
		return h, st, nil
	}
	for _, pl := range p.PreScore {
		if st := pl.PreScore(ctx, state, pod, feasible); !st.IsSuccess() {
			st.Plugin = pl.Name()
			return "", st, nil
		}
	}
	scores, st := score(ctx, p, state, pod, feasible)
	if !st.IsSuccess() {
		return "", st, nil
	}
	h, st := permit(ctx, p, state, pod, best(feasible, scores))
	return h, st, nil
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

// numFeasibleNodesToFind is how many fitting nodes a cycle looks for
// before it stops filtering, as Kubernetes' percentageOfNodesToScore: all
// of a small cluster, and for a large one a share that shrinks from 50%
// by one point per 125 nodes down to 5% (adaptive, when percentage is 0),
// never fewer than 100.
func numFeasibleNodesToFind(nodes int, percentage int32) int {
	const minFeasible = 100
	if nodes < minFeasible || percentage >= 100 {
		return nodes
	}
	p := int(percentage)
	if p <= 0 {
		p = max(50-nodes/125, 5)
	}
	return max(nodes*p/100, minFeasible)
}

// filter runs the filters over the nodes in parallel, starting where the
// last cycle stopped so every node gets its turn, until enough fitting
// nodes are found. It returns the fitting nodes and each node's status
// (nil for a node that fits or was not tried), indexed as nodes.
func (s *Scheduler) filter(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, nominated map[string][]*corev1.Pod) ([]*framework.NodeInfo, []*framework.Status) {
	n := len(nodes)
	want := numFeasibleNodesToFind(n, s.PercentageOfNodesToScore)
	start := s.nextStart % n
	statuses := make([]*framework.Status, n)
	fits := make([]bool, n)
	var next, found, processed atomic.Int64
	const chunk = 16
	workers := min(runtime.GOMAXPROCS(0)*2, (n+chunk-1)/chunk)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for found.Load() < int64(want) {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n) && found.Load() < int64(want); i++ {
					j := (start + i) % n
					statuses[j] = filterWithNominated(ctx, p, state, pod, nodes[j], nominated)
					if fits[j] = statuses[j].IsSuccess(); fits[j] {
						found.Add(1)
					}
					processed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	s.nextStart = (start + int(processed.Load())) % n
	var feasible []*framework.NodeInfo
	for i := 0; i < n; i++ {
		j := (start + i) % n
		if fits[j] && len(feasible) < want {
			feasible = append(feasible, nodes[j])
		}
	}
	return feasible, statuses
}

func filterNode(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	for _, pl := range p.Filter {
		if state.FilterSkipped(pl.Name()) {
			continue
		}
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

// score sums each plugin's normalized, weighted scores per node: the
// built-in plugins score the nodes in parallel, batch plugins take them
// all in one call. total[i] is nodes[i]'s score.
func score(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) ([]int64, *framework.Status) {
	raw := make([][]int64, len(p.Score))
	for i := range raw {
		raw[i] = make([]int64, len(nodes))
	}
	var failed atomic.Pointer[framework.Status]
	parallel(len(nodes), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			for i, ws := range p.Score {
				v, st := ws.Plugin.Score(ctx, state, pod, nodes[j])
				if !st.IsSuccess() {
					st.Plugin = ws.Plugin.Name()
					failed.CompareAndSwap(nil, st)
					return
				}
				raw[i][j] = v
			}
		}
	})
	if st := failed.Load(); st != nil {
		return nil, st
	}
	total := make([]int64, len(nodes))
	for i, ws := range p.Score {
		if norm, ok := ws.Plugin.(framework.NormalizeScorePlugin); ok {
			if st := norm.NormalizeScore(ctx, state, pod, raw[i]); !st.IsSuccess() {
				st.Plugin = ws.Plugin.Name()
				return nil, st
			}
		}
		for j, v := range raw[i] {
			total[j] += v * ws.Weight
		}
	}
	for _, ws := range p.BatchScore {
		scores, st := ws.Plugin.ScoreNodes(ctx, state, pod, nodes)
		if !st.IsSuccess() {
			st.Plugin = ws.Plugin.Name()
			return nil, st
		}
		for j, v := range scores[:min(len(scores), len(nodes))] {
			total[j] += min(max(v, 0), framework.MaxNodeScore) * ws.Weight
		}
	}
	return total, nil
}

// parallel splits [0,n) into chunks run on every CPU.
func parallel(n int, work func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		work(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(lo, min(lo+chunk, n))
		}()
	}
	wg.Wait()
}

// best picks the highest score, at random among ties so equal nodes share
// the load.
func best(nodes []*framework.NodeInfo, scores []int64) string {
	pick, ties := 0, 0
	var high int64 = -1
	for i, v := range scores {
		switch {
		case v > high:
			high, pick, ties = v, i, 1
		case v == high:
			ties++
			if rand.IntN(ties) == 0 { // each tie is kept with chance 1/ties
				pick = i
			}
		}
	}
	return nodes[pick].Name()
}
