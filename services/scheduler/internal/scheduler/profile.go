package scheduler

import (
	"skiff.dev/services/scheduler/internal/framework"
	"skiff.dev/services/scheduler/internal/plugins"
)

// Profile is one scheduler name (spec.schedulerName) and its plugins.
type Profile struct {
	SchedulerName string
	PreFilter     []framework.PreFilterPlugin
	Filter        []framework.FilterPlugin
	PreScore      []framework.PreScorePlugin
	Score         []WeightedScore
}

// WeightedScore is a score plugin and its weight.
type WeightedScore struct {
	Plugin framework.ScorePlugin
	Weight int64
}

// DefaultProfile is Kubernetes' default-scheduler with the plugins Skiff
// has.
func DefaultProfile() *Profile {
	fit := plugins.NodeResourcesFit{}
	return &Profile{
		SchedulerName: "default-scheduler",
		PreFilter:     []framework.PreFilterPlugin{fit},
		Filter: []framework.FilterPlugin{
			plugins.NodeName{}, plugins.NodeUnschedulable{}, plugins.NodeAffinity{},
			plugins.TaintToleration{}, plugins.NodePorts{}, fit,
		},
		Score: []WeightedScore{
			{plugins.TaintToleration{}, 3}, {plugins.NodeAffinity{}, 2},
			{fit, 1}, {plugins.BalancedAllocation{}, 1},
		},
	}
}
