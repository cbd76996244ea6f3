// Package framework is the scheduler's plugin model, after Kubernetes'
// scheduling framework: a pod is filtered against every node, the nodes
// that pass are scored, and the best one is reserved and bound. Plugins
// implement the extension points they need.
package framework

import (
	"context"
	"fmt"
	"strings"

	corev1 "skiff.dev/api/core/v1"
)

// Code is the outcome of a plugin call.
type Code int

// The outcomes.
const (
	// Success: the node fits, or the step succeeded.
	Success Code = iota
	// Unschedulable: the node does not fit now; a change in the cluster
	// (a pod leaving) may make it fit.
	Unschedulable
	// UnschedulableAndUnresolvable: the node cannot fit this pod however
	// the cluster changes (node selector, taints without toleration).
	UnschedulableAndUnresolvable
	// Error: the plugin failed; the pod is retried with back-off.
	Error
	// Skip, from PreFilter: the plugin has nothing to check for this pod,
	// so its Filter is not called in this cycle.
	Skip
)

// Status is a plugin's verdict and the reasons for it, written for users:
// they end up in the FailedScheduling event.
type Status struct {
	Code    Code
	Reasons []string
	Err     error
	Plugin  string
}

// NewStatus builds a status.
func NewStatus(code Code, reasons ...string) *Status { return &Status{Code: code, Reasons: reasons} }

// AsStatus wraps an error.
func AsStatus(err error) *Status {
	return &Status{Code: Error, Err: err, Reasons: []string{err.Error()}}
}

// IsSuccess reports a nil or successful status.
func (s *Status) IsSuccess() bool { return s == nil || s.Code == Success }

// IsSkip reports a Skip status.
func (s *Status) IsSkip() bool { return s != nil && s.Code == Skip }

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.Reasons, ", ")
}

func (s *Status) String() string {
	if s == nil {
		return "Success"
	}
	return fmt.Sprintf("%s: %s", s.Plugin, s.Message())
}

// Plugin is anything with a name.
type Plugin interface {
	Name() string
}

// PreFilterPlugin runs once per pod before filtering; it may compute state
// the filter reads, or reject the pod outright.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod) *Status
}

// FilterPlugin decides whether a pod fits a node.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// PreScorePlugin runs once per pod before scoring, with the feasible nodes.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks a feasible node; scores are normalized to 0..MaxNodeScore.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) (int64, *Status)
}

// NormalizeScorePlugin rescales a score plugin's raw scores over all
// nodes; scores[i] belongs to the i-th node passed to Score.
type NormalizeScorePlugin interface {
	ScorePlugin
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []int64) *Status
}

// MaxNodeScore is the highest score a plugin gives a node.
const MaxNodeScore int64 = 100

// CycleState carries data between the extension points of one pod's
// scheduling cycle. It is read concurrently by filters: write it only in
// PreFilter and PreScore.
type CycleState struct {
	data map[string]any
	// Nodes is the snapshot this cycle schedules against: plugins that
	// count pods across the cluster (topology spread, pod affinity) read it.
	Nodes []*NodeInfo
	// NodesVersion changes whenever a Node object in Nodes differs from
	// the last cycle's (0: unknown).
	NodesVersion int64
	// skip are the plugins whose PreFilter returned Skip.
	skip map[string]bool
}

// SkipFilter records that a plugin's Filter has nothing to check.
func (c *CycleState) SkipFilter(plugin string) {
	if c.skip == nil {
		c.skip = map[string]bool{}
	}
	c.skip[plugin] = true
}

// FilterSkipped reports whether SkipFilter was called for a plugin.
func (c *CycleState) FilterSkipped(plugin string) bool { return c.skip[plugin] }

// NewCycleState starts an empty state over a snapshot.
func NewCycleState(nodes []*NodeInfo) *CycleState {
	return &CycleState{data: map[string]any{}, Nodes: nodes}
}

// Write stores a value under key.
func (c *CycleState) Write(key string, v any) { c.data[key] = v }

// Read returns the value under key.
func (c *CycleState) Read(key string) (any, bool) {
	v, ok := c.data[key]
	return v, ok
}

// BatchFilterPlugin decides for all candidate nodes in one call: the
// scheduler runs it after the per-node filters, on the nodes that passed
// them. It returns the rejected nodes' statuses by node name; a non-nil
// second result fails the whole call.
type BatchFilterPlugin interface {
	Plugin
	FilterNodes(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) (map[string]*Status, *Status)
}

// BatchScorePlugin scores all feasible nodes in one call, 0..MaxNodeScore;
// scores[i] is nodes[i]'s.
type BatchScorePlugin interface {
	Plugin
	ScoreNodes(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) ([]int64, *Status)
}

// PermitPlugin approves the node chosen for a pod before it is assumed and
// bound; an unsuccessful status makes the cycle fail with it.
type PermitPlugin interface {
	Plugin
	Permit(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) *Status
}

// ReservePlugin holds what a pod's chosen node needs (volumes) while the
// pod is being bound; Unreserve gives it back when the cycle fails.
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, node string)
}

// PreBindPlugin runs in the binding goroutine before the pod is bound
// (volume binding); an unsuccessful status fails the binding.
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *corev1.Pod, node string) *Status
}

// Extension points, as configurations name them.
const (
	PointFilter = "filter"
	PointScore  = "score"
	PointPermit = "permit"
)

// PointSelector is a plugin whose extension points are chosen when it is
// configured rather than by the methods it has: a profile wires it only
// into the points for which Serves is true.
type PointSelector interface {
	Serves(point string) bool
}
