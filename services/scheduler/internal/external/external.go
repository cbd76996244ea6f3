// Package external runs out-of-process scheduler plugins: programs written
// with skiff.dev/pkg/schedulerplugin that the scheduler starts through
// hashicorp/go-plugin and asks once per pod about all candidate nodes.
//
// A plugin that crashes, hangs past its timeout or answers with an error
// does not stop scheduling: the call is treated as its failure policy says
// (Ignore: as if the plugin agreed; Fail: the pod waits and is retried),
// the failure is logged and counted, and a dead or hung plugin is killed
// and started again with exponential back-off.
package external

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "skiff.dev/api/core/v1"
	pluginv1 "skiff.dev/api/schedulerplugin/v1"
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

// Back-off between restarts of a plugin that keeps dying.
const (
	initialBackoff = 200 * time.Millisecond
	maxBackoff     = 30 * time.Second
	// A plugin that lived this long before failing restarts without delay
	// carried over from earlier failures.
	healthyRun = 30 * time.Second
	// Syncing every node to a fresh plugin may take longer than a call.
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
// batch filter, batch score and permit plugin.
type Plugin struct {
	cfg    Config
	hooks  Hooks
	logger hclog.Logger

	// mu guards the process and what it has been sent; calls hold it, so
	// one call reaches a plugin at a time (the scheduler schedules one pod
	// at a time anyway).
	mu      sync.Mutex
	client  *plugin.Client
	rpc     pluginv1.SchedulerPluginServiceClient
	points  []string
	sent    map[string]sentNode // what the plugin holds, by node name
	nextID  uint32              // the number the next new node gets
	synced  int64               // the NodesVersion sent last
	started time.Time
	dir     string    // the socket's directory
	cmd     *exec.Cmd // the process, to kill one that will not stop
	down    error     // why the plugin cannot take calls now
	// broken is signalled when a call finds the plugin dead or hung.
	broken chan struct{}
}

// Start launches a plugin and checks it serves the configured points; a
// plugin that cannot start is a configuration error.
func Start(ctx context.Context, cfg Config, level slog.Level, hooks Hooks) (*Plugin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Plugin{cfg: cfg, hooks: hooks, broken: make(chan struct{}, 1),
		logger: hclog.New(&hclog.LoggerOptions{Name: "plugin." + cfg.Name, Output: os.Stderr, Level: hclogLevel(level)})}
	if err := p.launch(ctx); err != nil {
		return nil, fmt.Errorf("scheduler plugin %s: %w", cfg.Name, err)
	}
	for _, want := range cfg.ExtensionPoints {
		if !slices.Contains(p.points, want) {
			p.stop()
			return nil, fmt.Errorf("scheduler plugin %s (%s) does not implement %s; it implements %v", cfg.Name, cfg.Path, want, p.points)
		}
	}
	if len(cfg.ExtensionPoints) == 0 {
		p.cfg.ExtensionPoints = p.points
	}
	return p, nil
}

func hclogLevel(l slog.Level) hclog.Level {
	switch {
	case l <= slog.LevelDebug:
		return hclog.Debug
	case l <= slog.LevelInfo:
		return hclog.Info
	case l <= slog.LevelWarn:
		return hclog.Warn
	default:
		return hclog.Error
	}
}

// launch starts the process and asks what it implements. It holds no lock:
// callers serialize it.
func (p *Plugin) launch(ctx context.Context) error {
	// The plugin's socket lives in a private directory removed with it,
	// also when the plugin was killed and could not clean up.
	dir, err := os.MkdirTemp("", "skiff-plugin-")
	if err != nil {
		return err
	}
	cmd := exec.Command(p.cfg.Path, p.cfg.Args...)
	cmd.Env = append(append(os.Environ(), p.cfg.Env...), plugin.EnvUnixSocketDir+"="+dir)
	// The plugin dies with the scheduler, even when the scheduler is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  schedulerplugin.Handshake,
		Plugins:          schedulerplugin.PluginSet(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           p.logger,
		AutoMTLS:         true,
		StartTimeout:     10 * time.Second,
	})
	fail := func(err error) error {
		client.Kill()
		_ = os.RemoveAll(dir)
		return err
	}
	proto, err := client.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := proto.Dispense(schedulerplugin.Dispense)
	if err != nil {
		return fail(err)
	}
	rpc := raw.(pluginv1.SchedulerPluginServiceClient)
	dctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.Duration*syncTimeoutFactor)
	defer cancel()
	desc, err := rpc.Describe(dctx, &pluginv1.DescribeRequest{})
	if err != nil {
		return fail(fmt.Errorf("describe: %w", err))
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
	p.mu.Lock()
	p.client, p.rpc, p.points, p.sent, p.started, p.down, p.dir, p.cmd = client, rpc, points, nil, time.Now(), nil, dir, cmd
	p.mu.Unlock()
	return nil
}

// Stop kills the plugin process.
func (p *Plugin) Stop() { p.stop() }

// Run keeps the plugin alive until ctx ends: a plugin found dead (or
// killed after a hang) is started again after a back-off that doubles
// while it keeps failing. It stops the plugin on return.
func (p *Plugin) Run(ctx context.Context) {
	defer p.stop()
	backoff := initialBackoff
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.broken:
		case <-check.C:
			if !p.exited() {
				continue
			}
		}
		p.mu.Lock()
		lived := time.Since(p.started)
		if p.down == nil {
			p.down = errors.New("plugin process exited")
		}
		p.mu.Unlock()
		p.stop()
		if lived > healthyRun {
			backoff = initialBackoff
		}
		for {
			slog.WarnContext(ctx, "scheduler plugin down; restarting", "plugin", p.cfg.Name, "in", backoff, "reason", p.reason())
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			err := p.launch(ctx)
			if err == nil {
				break
			}
			p.mu.Lock()
			p.down = err
			p.mu.Unlock()
		}
		slog.InfoContext(ctx, "scheduler plugin restarted", "plugin", p.cfg.Name)
		if p.hooks.Restarted != nil {
			p.hooks.Restarted(p.cfg.Name)
		}
		if p.hooks.Ready != nil {
			p.hooks.Ready(p.cfg.Name)
		}
		select { // a failure noticed before the restart is stale
		case <-p.broken:
		default:
		}
	}
}

func (p *Plugin) reason() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down
}

func (p *Plugin) exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client == nil || p.client.Exited()
}

// killWait bounds how long go-plugin may take to clean up after a plugin
// was killed.
const killWait = 2 * time.Second

// stop kills the process, if any. Plugins hold no state worth a graceful
// exit, and a hung one may not take part in one: it gets SIGKILL, then
// go-plugin cleans up its side.
func (p *Plugin) stop() {
	p.mu.Lock()
	client, cmd, dir := p.client, p.cmd, p.dir
	p.client, p.rpc, p.cmd, p.dir = nil, nil, nil, ""
	if p.down == nil {
		p.down = errors.New("plugin stopped")
	}
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
	if client != nil {
		done := make(chan struct{})
		go func() { client.Kill(); close(done) }()
		select {
		case <-done:
		case <-time.After(killWait):
			slog.Warn("scheduler plugin clean-up is slow; going on", "plugin", p.cfg.Name)
		}
	}
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// Name is the configured name.
func (p *Plugin) Name() string { return p.cfg.Name }

// Serves reports whether the plugin is configured at point.
func (p *Plugin) Serves(point string) bool { return slices.Contains(p.cfg.ExtensionPoints, point) }

// call runs one RPC under the per-call timeout after bringing the plugin's
// nodes up to date. A plugin that is down, hung or dead fails the call at
// once; a hung or dead one is handed to Run for a restart.
func (p *Plugin) call(ctx context.Context, point string, state *framework.CycleState, rpc func(context.Context, pluginv1.SchedulerPluginServiceClient) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.down
	if err == nil {
		err = p.sync(ctx, state)
	}
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.Duration)
		err = rpc(cctx, p.rpc)
		// A hang shows as our deadline passing, or as the plugin's side
		// answering DeadlineExceeded (its copy of the deadline can fire
		// first).
		hung := cctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded
		if err != nil && ctx.Err() == nil && (hung || p.client.Exited()) {
			p.markBroken(err)
		}
		cancel()
	}
	if err != nil {
		if p.hooks.Failed != nil {
			p.hooks.Failed(p.cfg.Name, point)
		}
		return fmt.Errorf("scheduler plugin %s: %s: %w", p.cfg.Name, point, err)
	}
	return nil
}

// markBroken takes the plugin out of service until Run restarts it.
func (p *Plugin) markBroken(err error) {
	if p.client != nil && !p.client.Exited() {
		err = fmt.Errorf("hung: %w", err)
	}
	p.down = err
	select {
	case p.broken <- struct{}{}:
	default:
	}
}

// sentNode is a node as the plugin has it, and its number there.
type sentNode struct {
	node *corev1.Node
	id   uint32
}

// sync sends the plugin the nodes that changed since the last call: all of
// them to a fresh plugin. Called with p.mu held.
func (p *Plugin) sync(ctx context.Context, state *framework.CycleState) error {
	reset := p.sent == nil
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
	sctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.Duration*syncTimeoutFactor)
	defer cancel()
	for first := true; first || len(upserts) > 0; first = false {
		batch := upserts[:min(syncBatch, len(upserts))]
		upserts = upserts[len(batch):]
		req := &pluginv1.SyncNodesRequest{Reset_: reset && first, Upserts: batch}
		if len(upserts) == 0 {
			req.Deletes = deletes
		}
		if _, err := p.rpc.SyncNodes(sctx, req); err != nil {
			p.sent = nil // start over with a reset next time
			if ctx.Err() == nil {
				p.markBroken(err)
			}
			return err
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
