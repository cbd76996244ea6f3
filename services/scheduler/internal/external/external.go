// Package external runs out-of-process scheduler plugins: programs written
// with skiff.dev/pkg/schedulerplugin that the scheduler starts through
// hashicorp/go-plugin and asks once per pod about all candidate nodes.
//
// A plugin that crashes, hangs past its timeout or answers with an error
// does not stop scheduling: the call is treated as its failure policy says
// (Ignore: as if the plugin agreed; Fail: the pod waits and is retried),
// the failure is logged and counted, and a dead or hung plugin is killed
// and started again with exponential back-off by a pluginproc.Supervisor,
// which runs the cloud-controller's provider plugins the same way.
package external

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "skiff.dev/api/core/v1"
	pluginv1 "skiff.dev/api/schedulerplugin/v1"
	"skiff.dev/pkg/pluginproc"
	"skiff.dev/pkg/schedulerplugin"
	"skiff.dev/services/scheduler/internal/framework"
)

// Failure policies.
const (
	// Ignore treats a failed call as if the plugin agreed: every node
	// passes its filter, every node scores 0, the node is permitted.
	Ignore = "Ignore"
	// Fail fails the scheduling attempt; the pod is retried with back-off.
	Fail = "Fail"
)

// Config describes one plugin in the scheduler's configuration file.
type Config struct {
	// Name is how profiles enable the plugin.
	Name string `json:"name"`
	// Path is the plugin's executable; Args and Env are passed to it.
	Path string   `json:"path"`
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	// ExtensionPoints the plugin is called at: filter, score, permit.
	// Empty means every point the plugin implements.
	ExtensionPoints []string `json:"extensionPoints,omitempty"`
	// Timeout bounds each call (default 1s); a call that takes longer
	// counts as a hang: the plugin is killed and restarted.
	Timeout Duration `json:"timeout,omitempty"`
	// FailurePolicy is Ignore (the default) or Fail.
	FailurePolicy string `json:"failurePolicy,omitempty"`
}

// Duration reads "500ms" or "2s" from YAML and JSON.
type Duration struct{ time.Duration }

// UnmarshalJSON parses a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) < 2 || s[0] != '"' {
		return fmt.Errorf("duration %s: want a string such as \"500ms\"", s)
	}
	v, err := time.ParseDuration(s[1 : len(s)-1])
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Validate checks a configuration and fills its defaults.
func (c *Config) Validate() error {
	if c.Name == "" {
		return errors.New("plugin without a name")
	}
	if c.Path == "" {
		return fmt.Errorf("plugin %s: path is required", c.Name)
	}
	for _, p := range c.ExtensionPoints {
		if p != framework.PointFilter && p != framework.PointScore && p != framework.PointPermit {
			return fmt.Errorf("plugin %s: unknown extension point %q (filter, score, permit)", c.Name, p)
		}
	}
	switch c.FailurePolicy {
	case "":
		c.FailurePolicy = Ignore
	case Ignore, Fail:
	default:
		return fmt.Errorf("plugin %s: failurePolicy %q is neither Ignore nor Fail", c.Name, c.FailurePolicy)
	}
	if c.Timeout.Duration < 0 {
		return fmt.Errorf("plugin %s: negative timeout", c.Name)
	}
	if c.Timeout.Duration == 0 {
		c.Timeout.Duration = time.Second
	}
	return nil
}

// Hooks report what happens to plugins (metrics).
type Hooks struct {
	// Restarted is called when a plugin process is started again.
	Restarted func(plugin string)
	// Failed is called when a call fails, with the extension point.
	Failed func(plugin, point string)
	// Ready is called when a (re)started plugin can take calls: pods that
	// waited for it can be retried.
	Ready func(plugin string)
}

// Syncing every node to a fresh plugin may take longer than a call.
const (
	syncTimeoutFactor = 10
	syncBatch         = 500
)

var (
	_ framework.BatchFilterPlugin = (*Plugin)(nil)
	_ framework.BatchScorePlugin  = (*Plugin)(nil)
	_ framework.PermitPlugin      = (*Plugin)(nil)
	_ framework.PointSelector     = (*Plugin)(nil)
)

// Plugin is a running out-of-process plugin, seen by the scheduler as a
// batch filter, batch score and permit plugin. Its process is kept by a
// pluginproc.Supervisor.
type Plugin struct {
	cfg    Config
	hooks  Hooks
	sup    *pluginproc.Supervisor
	points []string // what the plugin said it implements at its first start

	// mu guards what the plugin has been sent; calls hold it, so one call
	// reaches a plugin at a time (the scheduler schedules one pod at a
	// time anyway).
	mu       sync.Mutex
	syncedTo *pluginproc.Instance // the process sent holds the nodes in sent
	sent     map[string]sentNode  // what the plugin holds, by node name
	nextID   uint32               // the number the next new node gets
	synced   int64                // the NodesVersion sent last
}

// Start launches a plugin and checks it serves the configured points; a
// plugin that cannot start is a configuration error.
func Start(ctx context.Context, cfg Config, level slog.Level, hooks Hooks) (*Plugin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Plugin{cfg: cfg, hooks: hooks}
	sup, err := pluginproc.Start(ctx, pluginproc.Config{Name: cfg.Name, Path: cfg.Path, Args: cfg.Args, Env: cfg.Env,
		Handshake: schedulerplugin.Handshake, Plugins: schedulerplugin.PluginSet(), Dispense: schedulerplugin.Dispense,
		Level: level, OnStart: p.describe, Restarted: p.restarted})
	if err != nil {
		return nil, fmt.Errorf("scheduler plugin %s: %w", cfg.Name, err)
	}
	p.sup = sup
	for _, want := range cfg.ExtensionPoints {
		if !slices.Contains(p.points, want) {
			sup.Stop()
			return nil, fmt.Errorf("scheduler plugin %s (%s) does not implement %s; it implements %v", cfg.Name, cfg.Path, want, p.points)
		}
	}
	if len(cfg.ExtensionPoints) == 0 {
		p.cfg.ExtensionPoints = p.points
	}
	return p, nil
}

// describe asks a fresh process what it implements; the first answer is
// the one kept.
func (p *Plugin) describe(ctx context.Context, inst *pluginproc.Instance) error {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.Duration*syncTimeoutFactor)
	defer cancel()
	desc, err := inst.Client.(pluginv1.SchedulerPluginServiceClient).Describe(dctx, &pluginv1.DescribeRequest{})
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	var points []string
	for _, e := range desc.GetExtensionPoints() {
		switch e {
		case pluginv1.ExtensionPoint_EXTENSION_POINT_FILTER:
			points = append(points, framework.PointFilter)
		case pluginv1.ExtensionPoint_EXTENSION_POINT_SCORE:
			points = append(points, framework.PointScore)
		case pluginv1.ExtensionPoint_EXTENSION_POINT_PERMIT:
			points = append(points, framework.PointPermit)
		}
	}
	if p.sup == nil { // the first start
		p.points = points
	} else if !slices.Equal(points, p.points) {
		slog.WarnContext(ctx, "restarted scheduler plugin implements other points; keeping the first ones",
			"plugin", p.cfg.Name, "was", p.points, "now", points)
	}
	return nil
}

// restarted tells the hooks: pods that waited for the plugin can be
// retried.
func (p *Plugin) restarted() {
	if p.hooks.Restarted != nil {
		p.hooks.Restarted(p.cfg.Name)
	}
	if p.hooks.Ready != nil {
		p.hooks.Ready(p.cfg.Name)
	}
}

// Run keeps the plugin alive until ctx ends: a plugin found dead (or
// killed after a hang) is started again after a back-off that doubles
// while it keeps failing. It stops the plugin on return.
func (p *Plugin) Run(ctx context.Context) { p.sup.Run(ctx) }

// Stop kills the plugin process.
func (p *Plugin) Stop() { p.sup.Stop() }

// Status is the plugin's supervision state, for readiness.
func (p *Plugin) Status() pluginproc.Status { return p.sup.Status() }

// Name is the configured name.
func (p *Plugin) Name() string { return p.cfg.Name }

// Serves reports whether the plugin is configured at point.
func (p *Plugin) Serves(point string) bool { return slices.Contains(p.cfg.ExtensionPoints, point) }

// call brings the plugin's nodes up to date and runs one RPC under the
// per-call timeout. A plugin that is down fails the call at once; a hung
// or dead one is handed to the supervisor for a restart.
func (p *Plugin) call(ctx context.Context, point string, state *framework.CycleState, rpc func(context.Context, pluginv1.SchedulerPluginServiceClient) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.sup.Call(ctx, p.cfg.Timeout.Duration*syncTimeoutFactor, func(ctx context.Context, inst *pluginproc.Instance) error {
		return p.sync(ctx, inst, state)
	})
	if err == nil {
		err = p.sup.Call(ctx, p.cfg.Timeout.Duration, func(ctx context.Context, inst *pluginproc.Instance) error {
			if inst != p.syncedTo {
				return errors.New("the plugin was restarted during the call")
			}
			return rpc(ctx, inst.Client.(pluginv1.SchedulerPluginServiceClient))
		})
	}
	if err != nil {
		if p.hooks.Failed != nil {
			p.hooks.Failed(p.cfg.Name, point)
		}
		return fmt.Errorf("scheduler plugin %s: %s: %w", p.cfg.Name, point, err)
	}
	return nil
}

// sentNode is a node as the plugin has it, and its number there.
type sentNode struct {
	node *corev1.Node
	id   uint32
}

// sync sends the plugin the nodes that changed since the last call: all of
// them to a fresh process. Called with p.mu held.
func (p *Plugin) sync(ctx context.Context, inst *pluginproc.Instance, state *framework.CycleState) error {
	reset := p.sent == nil || p.syncedTo != inst
	p.syncedTo = inst
	if !reset && state.NodesVersion != 0 && state.NodesVersion == p.synced {
		return nil // the same Node objects as last time
	}
	nodes := state.Nodes
	if reset {
		p.sent = make(map[string]sentNode, len(nodes))
		p.nextID = 0
	}
	var upserts []*pluginv1.NodeEntry
	added := 0
	for _, n := range nodes {
		had, ok := p.sent[n.Name()]
		if ok && had.node == n.Node {
			continue
		}
		if !ok {
			had.id = p.nextID + uint32(added)
			added++
		}
		upserts = append(upserts, &pluginv1.NodeEntry{Id: had.id, Node: n.Node})
	}
	var deletes []uint32
	var gone []string
	if len(p.sent)+added > len(nodes) {
		present := make(map[string]bool, len(nodes))
		for _, n := range nodes {
			present[n.Name()] = true
		}
		for name, had := range p.sent {
			if !present[name] {
				deletes = append(deletes, had.id)
				gone = append(gone, name)
			}
		}
	}
	if !reset && len(upserts) == 0 && len(deletes) == 0 {
		p.synced = state.NodesVersion
		return nil
	}
	rpc := inst.Client.(pluginv1.SchedulerPluginServiceClient)
	for first := true; first || len(upserts) > 0; first = false {
		batch := upserts[:min(syncBatch, len(upserts))]
		upserts = upserts[len(batch):]
		req := &pluginv1.SyncNodesRequest{Reset_: reset && first, Upserts: batch}
		if len(upserts) == 0 {
			req.Deletes = deletes
		}
		if _, err := rpc.SyncNodes(ctx, req); err != nil {
			p.sent = nil // start over with a reset next time
			return fmt.Errorf("sync nodes: %w", err)
		}
		for _, e := range batch {
			p.sent[e.GetNode().GetMetadata().GetName()] = sentNode{node: e.GetNode(), id: e.GetId()}
		}
	}
	for _, name := range gone {
		delete(p.sent, name)
	}
	p.nextID += uint32(added)
	p.synced = state.NodesVersion
	return nil
}

// ids are the plugin's numbers of nodes; a node that is not in the
// cycle's snapshot was never sent.
func (p *Plugin) ids(nodes []*framework.NodeInfo) ([]uint32, error) {
	out := make([]uint32, len(nodes))
	for i, n := range nodes {
		sent, ok := p.sent[n.Name()]
		if !ok {
			return nil, fmt.Errorf("node %s is not in the cycle's snapshot", n.Name())
		}
		out[i] = sent.id
	}
	return out, nil
}

// failed turns a failed call into the configured outcome.
func (p *Plugin) failed(ctx context.Context, err error) *framework.Status {
	if p.cfg.FailurePolicy == Ignore {
		slog.WarnContext(ctx, "scheduler plugin call failed; ignored as configured", "err", err)
		return nil
	}
	return framework.AsStatus(err)
}

// FilterNodes asks the plugin which candidates to reject.
func (p *Plugin) FilterNodes(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) (map[string]*framework.Status, *framework.Status) {
	var resp *pluginv1.FilterResponse
	err := p.call(ctx, framework.PointFilter, state, func(ctx context.Context, c pluginv1.SchedulerPluginServiceClient) error {
		ids, err := p.ids(nodes)
		if err != nil {
			return err
		}
		resp, err = c.Filter(ctx, &pluginv1.FilterRequest{Pod: pod, Nodes: ids})
		return err
	})
	if err != nil {
		return nil, p.failed(ctx, err)
	}
	out := make(map[string]*framework.Status, len(resp.GetRejections()))
	var byID map[uint32]string
	if len(resp.GetRejections()) > 0 {
		byID = make(map[uint32]string, len(nodes))
		for _, n := range nodes {
			byID[p.sent[n.Name()].id] = n.Name()
		}
	}
	for _, r := range resp.GetRejections() {
		name, ok := byID[r.GetNode()]
		if !ok {
			return nil, p.failed(ctx, fmt.Errorf("scheduler plugin %s: filter: rejected node %d, which is not a candidate", p.cfg.Name, r.GetNode()))
		}
		code := framework.Unschedulable
		if r.GetUnresolvable() {
			code = framework.UnschedulableAndUnresolvable
		}
		reason := r.GetReason()
		if reason == "" {
			reason = "node(s) were rejected by plugin " + p.cfg.Name
		}
		out[name] = framework.NewStatus(code, reason)
	}
	return out, nil
}

// ScoreNodes asks the plugin to rank the feasible nodes.
func (p *Plugin) ScoreNodes(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) ([]int64, *framework.Status) {
	var resp *pluginv1.ScoreResponse
	err := p.call(ctx, framework.PointScore, state, func(ctx context.Context, c pluginv1.SchedulerPluginServiceClient) error {
		ids, err := p.ids(nodes)
		if err != nil {
			return err
		}
		resp, err = c.Score(ctx, &pluginv1.ScoreRequest{Pod: pod, Nodes: ids})
		return err
	})
	if err != nil {
		return nil, p.failed(ctx, err)
	}
	out := make([]int64, len(nodes))
	copy(out, resp.GetScores())
	return out, nil
}

// Permit asks the plugin whether the pod may go to node.
func (p *Plugin) Permit(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	var resp *pluginv1.PermitResponse
	err := p.call(ctx, framework.PointPermit, state, func(ctx context.Context, c pluginv1.SchedulerPluginServiceClient) error {
		var err error
		sent, ok := p.sent[node]
		if !ok {
			return fmt.Errorf("node %s was never synced", node)
		}
		resp, err = c.Permit(ctx, &pluginv1.PermitRequest{Pod: pod, Node: sent.id})
		return err
	})
	if err != nil {
		return p.failed(ctx, err)
	}
	if !resp.GetAllow() {
		reason := resp.GetReason()
		if reason == "" {
			reason = "plugin " + p.cfg.Name + " did not permit node " + node
		}
		return framework.NewStatus(framework.Unschedulable, reason)
	}
	return nil
}
