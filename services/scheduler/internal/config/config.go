// Package config reads the scheduler's configuration file: profiles, each
// a schedulerName and the plugins it enables or disables, with score
// weights, in the shape of Kubernetes' KubeSchedulerConfiguration.
package config

import (
	"fmt"
	"os"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"skiff.dev/services/scheduler/internal/external"
	"skiff.dev/services/scheduler/internal/framework"
	"skiff.dev/services/scheduler/internal/scheduler"
)

// File is the configuration file.
type File struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Profiles   []Profile `json:"profiles"`
	// ExternalPlugins are out-of-process plugins: programs the scheduler
	// starts and keeps running. A profile enables one by name like any
	// built-in plugin.
	ExternalPlugins []external.Config `json:"externalPlugins"`
	// PercentageOfNodesToScore is the share of nodes a cycle looks for
	// fitting ones in before it stops filtering; 0 (the default) adapts to
	// the cluster's size as Kubernetes does, 100 filters every node.
	PercentageOfNodesToScore int32 `json:"percentageOfNodesToScore"`

	path string
}

// Profile configures one scheduler name.
type Profile struct {
	SchedulerName string         `json:"schedulerName"`
	Plugins       Plugins        `json:"plugins"`
	PluginConfig  []PluginConfig `json:"pluginConfig"`
}

// PluginConfig is the arguments of one plugin; only VolumeBinding takes
// any.
type PluginConfig struct {
	Name string     `json:"name"`
	Args PluginArgs `json:"args"`
}

// PluginArgs are VolumeBindingArgs: how long PreBind waits for a pod's
// claims to be bound (600 by default).
type PluginArgs struct {
	BindTimeoutSeconds *int64 `json:"bindTimeoutSeconds"`
}

// VolumeBindTimeout is the VolumeBinding bindTimeoutSeconds the profiles
// set (the plugin is shared; Read makes sure they agree); 0 when none.
func (f *File) VolumeBindTimeout() time.Duration {
	for _, p := range f.Profiles {
		for _, pc := range p.PluginConfig {
			if pc.Name == "VolumeBinding" && pc.Args.BindTimeoutSeconds != nil {
				return time.Duration(*pc.Args.BindTimeoutSeconds) * time.Second
			}
		}
	}
	return 0
}

// checkPluginConfig allows arguments for VolumeBinding only: a positive
// bindTimeoutSeconds, the same in every profile that sets one (the plugin
// is shared by all profiles, so a second value could not apply).
func (f *File) checkPluginConfig() error {
	var first *int64
	firstProfile := ""
	for _, p := range f.Profiles {
		for i, pc := range p.PluginConfig {
			at := fmt.Sprintf("%s: profile %s: pluginConfig[%d]", f.path, p.SchedulerName, i)
			if pc.Name != "VolumeBinding" {
				return fmt.Errorf("%s: plugin %s takes no arguments", at, pc.Name)
			}
			t := pc.Args.BindTimeoutSeconds
			switch {
			case t == nil:
			case *t <= 0:
				return fmt.Errorf("%s: bindTimeoutSeconds %d is not positive", at, *t)
			case first == nil:
				first, firstProfile = t, p.SchedulerName
			case *t != *first:
				return fmt.Errorf("%s: bindTimeoutSeconds %d differs from profile %s's %d: the VolumeBinding plugin is shared by all profiles, so they must set the same value",
					at, *t, firstProfile, *first)
			}
		}
	}
	return nil
}

// Plugins changes the default plugin set: disabled names ("*" for all)
// are removed first, then enabled ones added or re-weighted.
type Plugins struct {
	MultiPoint PluginSet `json:"multiPoint"`
	Filter     PluginSet `json:"filter"`
	Score      PluginSet `json:"score"`
	Permit     PluginSet `json:"permit"`
}

// PluginSet enables and disables plugins.
type PluginSet struct {
	Enabled  []scheduler.PluginRef `json:"enabled"`
	Disabled []scheduler.PluginRef `json:"disabled"`
}

// Load reads a file and builds its profiles from registry; an empty path
// is the default configuration.
func Load(path string, registry map[string]framework.Plugin) ([]*scheduler.Profile, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	return f.Build(registry)
}

// Read parses and checks a file; an empty path is the default
// configuration.
func Read(path string) (*File, error) {
	f := &File{path: path}
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(data, f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.PercentageOfNodesToScore < 0 || f.PercentageOfNodesToScore > 100 {
		return nil, fmt.Errorf("%s: percentageOfNodesToScore %d is not between 0 and 100", path, f.PercentageOfNodesToScore)
	}
	if err := f.checkPluginConfig(); err != nil {
		return nil, err
	}
	builtin := scheduler.Registry(nil)
	seen := map[string]bool{}
	for i := range f.ExternalPlugins {
		e := &f.ExternalPlugins[i]
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("%s: externalPlugins[%d]: %w", path, i, err)
		}
		if _, ok := builtin[e.Name]; ok || seen[e.Name] {
			return nil, fmt.Errorf("%s: externalPlugins[%d]: the name %s is taken", path, i, e.Name)
		}
		seen[e.Name] = true
	}
	return f, nil
}

// Build wires the profiles from the plugins in registry.
func (f *File) Build(registry map[string]framework.Plugin) ([]*scheduler.Profile, error) {
	path := f.path
	if path == "" {
		p, err := scheduler.BuildProfile("default-scheduler", scheduler.DefaultPlugins, registry)
		if err != nil {
			return nil, err
		}
		return []*scheduler.Profile{p}, nil
	}
	if len(f.Profiles) == 0 {
		f.Profiles = []Profile{{SchedulerName: "default-scheduler"}}
	}
	var out []*scheduler.Profile
	seen := map[string]bool{}
	for _, p := range f.Profiles {
		if p.SchedulerName == "" {
			p.SchedulerName = "default-scheduler"
		}
		if seen[p.SchedulerName] {
			return nil, fmt.Errorf("%s: profile %s appears twice", path, p.SchedulerName)
		}
		seen[p.SchedulerName] = true
		refs := apply(scheduler.DefaultPlugins, p.Plugins.MultiPoint)
		refs = apply(refs, p.Plugins.Filter)
		refs = apply(refs, p.Plugins.Score)
		refs = apply(refs, p.Plugins.Permit)
		profile, err := scheduler.BuildProfile(p.SchedulerName, refs, registry)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, profile)
	}
	return out, nil
}

// apply removes the disabled plugins, then adds or re-weights the enabled.
func apply(refs []scheduler.PluginRef, set PluginSet) []scheduler.PluginRef {
	out := slices.Clone(refs)
	for _, d := range set.Disabled {
		out = slices.DeleteFunc(out, func(r scheduler.PluginRef) bool { return d.Name == "*" || d.Name == r.Name })
	}
	for _, e := range set.Enabled {
		if i := slices.IndexFunc(out, func(r scheduler.PluginRef) bool { return r.Name == e.Name }); i >= 0 {
			if e.Weight != 0 {
				out[i].Weight = e.Weight
			}
			continue
		}
		out = append(out, e)
	}
	return out
}
