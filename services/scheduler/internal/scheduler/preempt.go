package scheduler

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
	"skiff.dev/services/scheduler/internal/nominator"
	"skiff.dev/services/scheduler/internal/preemption"
)

// Evictor carries out a preemption through the apiserver.
type Evictor interface {
	// Nominate sets the pod's status.nominatedNodeName ("" clears it).
	Nominate(ctx context.Context, pod *corev1.Pod, node string) error
	// Evict gives victim the DisruptionTarget condition (reason
	// PreemptionByScheduler), deletes it gracefully and records a
	// Preempted event on it.
	Evict(ctx context.Context, preemptor *corev1.Pod, node string, victim *corev1.Pod) error
}

// diagnosis is how filtering failed: each node's status, for preemption.
type diagnosis struct {
	state     *framework.CycleState
	nodes     []*framework.NodeInfo
	statuses  []*framework.Status // indexed as nodes; nil: not tried
	nominated map[string][]*corev1.Pod
}

func (s *Scheduler) nominator() *nominator.Nominator {
	if s.Nominator == nil {
		s.Nominator = nominator.New()
	}
	return s.Nominator
}

// nominatedNode is the node a pod was nominated to: by this scheduler, or
// in its status (by a scheduler before a restart).
func (s *Scheduler) nominatedNode(pod *corev1.Pod) string {
	if n := s.nominator().NodeOf(pod); n != "" {
		return n
	}
	return pod.GetStatus().GetNominatedNodeName()
}

// nodeIndex finds a node in a snapshot (sorted by name).
func nodeIndex(nodes []*framework.NodeInfo, name string) (int, bool) {
	i := sort.Search(len(nodes), func(i int) bool { return nodes[i].Name() >= name })
	return i, i < len(nodes) && nodes[i].Name() == name
}

// nominatedFits tries a nominated pod's node first, as Kubernetes does:
// the room its preemption freed is there.
func (s *Scheduler) nominatedFits(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, nominated map[string][]*corev1.Pod) (string, bool) {
	if len(p.BatchFilter) > 0 {
		return "", false // out-of-process filters see every candidate at once
	}
	name := s.nominatedNode(pod)
	if name == "" {
		return "", false
	}
	i, ok := nodeIndex(nodes, name)
	if !ok || !filterWithNominated(ctx, p, state, pod, nodes[i], nominated).IsSuccess() {
		return "", false
	}
	return name, true
}

// filterWithNominated filters a node counting the pods nominated to it
// whose priority is at least the pod's, and, when they fit together,
// without them too (a filter such as pod affinity may pass only with
// them), as Kubernetes does.
func filterWithNominated(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo, nominated map[string][]*corev1.Pod) *framework.Status {
	if others := nominated[n.Name()]; len(others) > 0 {
		var with *framework.NodeInfo
		for _, o := range others {
			if o.GetMetadata().GetUid() == pod.GetMetadata().GetUid() || preemption.Priority(o) < preemption.Priority(pod) {
				continue
			}
			if with == nil {
				with = n.Clone()
			}
			with.AddPod(o)
		}
		if with != nil {
			if st := filterNode(ctx, p, state, pod, with); !st.IsSuccess() {
				return st
			}
		}
	}
	return filterNode(ctx, p, state, pod, n)
}

// preempt is the DefaultPreemption post-filter. When the pod may preempt
// and some node fits it once pods of lower priority are gone, it
// nominates the pod to the best such node and evicts the victims there
// in the background; the pod waits, unschedulable, until they are gone.
// It returns what to add to the pod's FailedScheduling message ("" when
// the preemption went ahead).
func (s *Scheduler) preempt(ctx context.Context, p *Profile, pod *corev1.Pod, d *diagnosis) string {
	if s.Evictor == nil {
		return ""
	}
	if pod.GetSpec().GetPreemptionPolicy() == "Never" {
		return "not eligible due to preemptionPolicy=Never."
	}
	if nn := s.nominatedNode(pod); nn != "" {
		if i, ok := nodeIndex(d.nodes, nn); ok && (d.statuses[i] == nil || d.statuses[i].Code != framework.UnschedulableAndUnresolvable) {
			for _, v := range d.nodes[i].Pods {
				if preemption.CanPreempt(pod, v) && preemption.TerminatingByPreemption(v) {
					return "not eligible due to a terminating pod on the nominated node."
				}
			}
		}
	}
	var potential []*framework.NodeInfo
	for i, st := range d.statuses {
		if st != nil && st.Code == framework.Unschedulable {
			potential = append(potential, d.nodes[i])
		}
	}
	now := time.Now()
	cands, failures := s.dryRun(ctx, p, pod, d, potential, now)
	best := preemption.PickNode(cands, now)
	if best == nil {
		for len(failures) < len(d.nodes) {
			failures = append(failures, framework.NewStatus(framework.UnschedulableAndUnresolvable, "Preemption is not helpful for scheduling"))
		}
		return failureMessage(len(d.nodes), failures)
	}
	s.carryOut(ctx, pod, best, d.nominated[best.Node])
	return ""
}

// minCandidateNodesPercentage and minCandidateNodesAbsolute bound how many
// candidate nodes a preemption looks for, as Kubernetes' defaults.
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// dryRun finds candidate nodes among potential, in parallel from a random
// offset, until it has enough (10% of them, at least 100); it returns
// them and the statuses of the nodes that cannot help.
func (s *Scheduler) dryRun(ctx context.Context, p *Profile, pod *corev1.Pod, d *diagnosis, potential []*framework.NodeInfo, now time.Time) ([]*preemption.Candidate, []*framework.Status) {
	n := len(potential)
	if n == 0 {
		return nil, nil
	}
	want := min(max(n*minCandidateNodesPercentage/100, minCandidateNodesAbsolute), n)
	offset := rand.IntN(n)
	fits := func(ni *framework.NodeInfo) *framework.Status {
		return filterWithNominated(ctx, p, d.state, pod, ni, d.nominated)
	}
	var (
		mu       sync.Mutex
		cands    []*preemption.Candidate
		failures []*framework.Status
		found    atomic.Int64
	)
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi && found.Load() < int64(want); i++ {
			c, st := preemption.SelectVictims(pod, potential[(offset+i)%n], fits, s.Budgets, now)
			mu.Lock()
			if c != nil {
				cands = append(cands, c)
				found.Add(1)
			} else {
				failures = append(failures, st)
			}
			mu.Unlock()
		}
	})
	return cands, failures
}

// carryOut nominates the preemptor to the chosen node at once (so the
// next cycles keep the room for it), takes the nomination from pods of
// lower priority nominated there, and makes the API writes in the
// background.
func (s *Scheduler) carryOut(ctx context.Context, pod *corev1.Pod, c *preemption.Candidate, nominatedThere []*corev1.Pod) {
	s.nominator().Add(pod, c.Node)
	var displaced []*corev1.Pod
	for _, o := range nominatedThere {
		if o.GetMetadata().GetUid() != pod.GetMetadata().GetUid() && preemption.Priority(o) < preemption.Priority(pod) {
			s.nominator().Delete(o)
			displaced = append(displaced, o)
		}
	}
	slog.InfoContext(ctx, "preempting", "pod", key(pod), "node", c.Node, "victims", len(c.Victims))
	s.binds.Add(1)
	go func() {
		defer s.binds.Done()
		if err := s.Evictor.Nominate(ctx, pod, c.Node); err != nil {
			slog.WarnContext(ctx, "nominate pod", "pod", key(pod), "node", c.Node, "err", err)
		}
		for _, v := range c.Victims {
			if err := s.Evictor.Evict(ctx, pod, c.Node, v); err != nil {
				slog.WarnContext(ctx, "evict preemption victim", "pod", key(pod), "victim", key(v), "err", err)
			}
		}
		for _, o := range displaced {
			if err := s.Evictor.Nominate(ctx, o, ""); err != nil {
				slog.WarnContext(ctx, "clear nominated node", "pod", key(o), "err", err)
			}
		}
	}()
}
