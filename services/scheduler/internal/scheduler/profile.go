package scheduler

import (
	"fmt"
	"slices"

	"skiff.dev/services/scheduler/internal/framework"
	"skiff.dev/services/scheduler/internal/plugins"
	"skiff.dev/services/scheduler/internal/storage"
)

// Profile is one scheduler name (spec.schedulerName) and its plugins.
type Profile struct {
	SchedulerName string
	PreFilter     []framework.PreFilterPlugin
	Filter        []framework.FilterPlugin
	PreScore      []framework.PreScorePlugin
	Score         []WeightedScore
	// BatchFilter and BatchScore see all candidate nodes at once
	// (out-of-process plugins); they run after the per-node plugins.
	BatchFilter []framework.BatchFilterPlugin
	BatchScore  []WeightedBatchScore
	Permit      []framework.PermitPlugin
	Reserve     []framework.ReservePlugin
	PreBind     []framework.PreBindPlugin
}

// WeightedBatchScore is a batch score plugin and its weight.
type WeightedBatchScore struct {
	Plugin framework.BatchScorePlugin
	Weight int64
}

// WeightedScore is a score plugin and its weight.
type WeightedScore struct {
	Plugin framework.ScorePlugin
	Weight int64
}

// Registry is every plugin the scheduler knows, by name. The volume
// plugins read the storage objects of vol; nil gives them an empty store
// (a pod with claims then waits for its claims to appear).
func Registry(vol *storage.Plugins) map[string]framework.Plugin {
	if vol == nil {
		vol = storage.New(storage.NewStore(), nil, 0)
	}
	list := []framework.Plugin{
		plugins.NodeName{}, plugins.NodeUnschedulable{}, plugins.NodeAffinity{}, plugins.TaintToleration{},
		plugins.NodePorts{}, plugins.NodeResourcesFit{}, plugins.BalancedAllocation{},
		plugins.PodTopologySpread{}, plugins.InterPodAffinity{}, plugins.ImageLocality{},
		vol.Restrictions, vol.Limits, vol.Binding, vol.Zone,
	}
	out := map[string]framework.Plugin{}
	for _, p := range list {
		out[p.Name()] = p
	}
	return out
}

// DefaultPlugins are Kubernetes' default-scheduler plugins, in its order,
// with its score weights.
var DefaultPlugins = []PluginRef{
	{Name: plugins.NameNodeName}, {Name: plugins.NameNodeUnschedulable}, {Name: plugins.NameNodeAffinity, Weight: 2},
	{Name: plugins.NameTaintToleration, Weight: 3}, {Name: plugins.NameNodePorts}, {Name: plugins.NameNodeResourcesFit, Weight: 1},
	{Name: storage.NameVolumeRestrictions}, {Name: storage.NameNodeVolumeLimits}, {Name: storage.NameVolumeBinding},
	{Name: storage.NameVolumeZone},
	{Name: plugins.NamePodTopologySpread, Weight: 2}, {Name: plugins.NameInterPodAffinity, Weight: 2},
	{Name: plugins.NameBalanced, Weight: 1}, {Name: plugins.NameImageLocality, Weight: 1},
}

// PluginRef names a plugin in a configuration, with its score weight.
type PluginRef struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// BuildProfile wires the named plugins into the extension points each
// implements. A score weight of 0 means 1.
func BuildProfile(schedulerName string, refs []PluginRef, registry map[string]framework.Plugin) (*Profile, error) {
	p := &Profile{SchedulerName: schedulerName}
	for _, ref := range refs {
		pl, ok := registry[ref.Name]
		if !ok {
			names := make([]string, 0, len(registry))
			for n := range registry {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("profile %s: unknown plugin %q (known: %v)", schedulerName, ref.Name, names)
		}
		serves := func(point string) bool {
			sel, ok := pl.(framework.PointSelector)
			return !ok || sel.Serves(point)
		}
		w := ref.Weight
		if w == 0 {
			w = 1
		}
		if x, ok := pl.(framework.PreFilterPlugin); ok {
			p.PreFilter = append(p.PreFilter, x)
		}
		if x, ok := pl.(framework.FilterPlugin); ok && serves(framework.PointFilter) {
			p.Filter = append(p.Filter, x)
		}
		if x, ok := pl.(framework.BatchFilterPlugin); ok && serves(framework.PointFilter) {
			p.BatchFilter = append(p.BatchFilter, x)
		}
		if x, ok := pl.(framework.PreScorePlugin); ok {
			p.PreScore = append(p.PreScore, x)
		}
		if x, ok := pl.(framework.ScorePlugin); ok && serves(framework.PointScore) {
			p.Score = append(p.Score, WeightedScore{Plugin: x, Weight: w})
		}
		if x, ok := pl.(framework.BatchScorePlugin); ok && serves(framework.PointScore) {
			p.BatchScore = append(p.BatchScore, WeightedBatchScore{Plugin: x, Weight: w})
		}
		if x, ok := pl.(framework.PermitPlugin); ok && serves(framework.PointPermit) {
			p.Permit = append(p.Permit, x)
		}
		if x, ok := pl.(framework.ReservePlugin); ok {
			p.Reserve = append(p.Reserve, x)
		}
		if x, ok := pl.(framework.PreBindPlugin); ok {
			p.PreBind = append(p.PreBind, x)
		}
	}
	return p, nil
}

// DefaultProfile is the default-scheduler with every default plugin.
func DefaultProfile() *Profile {
	p, err := BuildProfile("default-scheduler", DefaultPlugins, Registry(nil))
	if err != nil {
		panic(err) // the defaults name only registered plugins
	}
	return p
}
