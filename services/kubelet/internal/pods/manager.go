// Package pods runs the pods bound to one node through CRI: a worker per
// pod drives the runtime toward the pod's spec (sandbox, init containers in
// order, containers with their restart policy and back-off, probes,
// graceful termination) and reports the pod's status; a relist of the
// runtime notices containers that changed on their own and sandboxes whose
// pods are gone.
package pods

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/kubelet/internal/cri"
	"skiff.dev/services/kubelet/internal/csi"
	"skiff.dev/services/kubelet/internal/downward"
	"skiff.dev/services/kubelet/internal/staticpods"
	"skiff.dev/services/kubelet/internal/sysctls"
	"skiff.dev/services/kubelet/internal/volumes"
)

// Config is what the pod manager needs to know about its node.
type Config struct {
	NodeName string
	NodeIP   string
	// RootDir holds pod volumes (pods/<uid>) and container logs (logs/).
	RootDir string
	// CgroupRoot is the cgroup under which pod cgroups are made
	// (<root>/kubepods/<qos>/pod<uid>), cgroupfs driver.
	CgroupRoot string
	// Allocatable is the node's allocatable cpu, memory and
	// ephemeral-storage, the value of resourceFieldRef limits a container
	// does not set.
	Allocatable downward.Allocatable
	// Sysctls are the sysctls pods may set; a pod that sets another is
	// rejected with SysctlForbidden. Nil admits every pod.
	Sysctls *sysctls.Allowlist
	// DNS forms the pods' resolver configuration and domain.
	DNS DNS
	// RestartBackoff and MaxRestartBackoff bound CrashLoopBackOff.
	RestartBackoff, MaxRestartBackoff time.Duration
	// RelistPeriod is how often the runtime is listed for changes.
	RelistPeriod time.Duration
	// ResyncPeriod is how often every pod is synced even without changes
	// (volumes from ConfigMaps and Secrets are refreshed then).
	ResyncPeriod time.Duration
}

// Source gives the pods this node should run.
type Source interface {
	// Pod returns the desired pod with this uid, if any.
	Pod(uid string) (*corev1.Pod, bool)
}

// Manager runs the pods of one node.
type Manager struct {
	cfg     Config
	rt      cri.Runtime
	source  Source
	objects Objects
	// services feeds the Service environment variables; nil leaves them
	// out.
	services Services
	// handlers maps RuntimeClasses to CRI handlers; nil uses the
	// runtime's default for every pod.
	handlers RuntimeHandlers
	status   StatusSink
	deleter  Deleter
	volumes  *volumes.Manager
	probes   *prober
	backoff  *backoff
	events   *events.Recorder

	sandboxIPs sync.Map // sandbox id → pod IP
	exited     sync.Map // container id → final *runtimeapi.ContainerStatus

	mu        sync.Mutex
	workers   map[string]*worker // by pod uid
	early     map[string]bool    // pods kicked before Run, by uid
	wg        sync.WaitGroup
	ctx       context.Context
	seen      map[string]string // pod uid → fingerprint of its runtime state at the last relist
	started   map[string]time.Time
	volumesAt map[string]volumesSetUp // when each pod's volumes were last set up
}

// StatusSink receives the status the kubelet computed for a pod.
type StatusSink interface {
	Set(pod *corev1.Pod, status *corev1.PodStatus)
	// Forget drops a pod whose object is gone.
	Forget(uid string)
}

// Deleter removes a pod object once everything of it has stopped.
type Deleter func(ctx context.Context, pod *corev1.Pod) error

// New returns a pod manager; Run starts it.
func New(cfg Config, rt cri.Runtime, source Source, objects Objects, vols *volumes.Manager, status StatusSink, deleter Deleter) *Manager {
	m := &Manager{cfg: cfg, rt: rt, source: source, objects: objects, volumes: vols, status: status, deleter: deleter,
		workers: map[string]*worker{}, seen: map[string]string{}, started: map[string]time.Time{}, volumesAt: map[string]volumesSetUp{},
		backoff: newBackoff(cfg.RestartBackoff, cfg.MaxRestartBackoff)}
	m.probes = newProber(rt, m.Kick)
	m.probes.failed = m.probeFailed
	return m
}

// Run relists the runtime until ctx ends, then waits for the pod workers.
// Pods already running when the kubelet starts are adopted by the first
// relist.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	early := m.early
	m.early = nil
	m.mu.Unlock()
	// Pods the informer delivered before Run (its first list: pods bound
	// while the kubelet was down) get their workers now.
	for uid := range early {
		m.Kick(uid)
	}
	// Pods with CSI volumes still published: those gone while the
	// kubelet was down have them unpublished by their sync.
	for _, uid := range csi.PodsWithVolumes(m.cfg.RootDir) {
		m.Kick(uid)
	}
	m.checkResolvConf()
	m.probes.start(ctx)
	relist := time.NewTicker(m.cfg.RelistPeriod)
	defer relist.Stop()
	resync := time.NewTicker(m.cfg.ResyncPeriod)
	defer resync.Stop()
	for {
		m.relist(ctx)
		select {
		case <-ctx.Done():
			m.probes.stopAll()
			m.wg.Wait()
			return nil
		case <-relist.C:
		case <-resync.C:
			m.kickAll()
		}
	}
}

// SetServices gives the manager the Services for container environments;
// call it before Run.
func (m *Manager) SetServices(s Services) { m.services = s }

// Kick asks the pod's worker to sync, starting one if needed.
func (m *Manager) Kick(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil {
		if m.early == nil {
			m.early = map[string]bool{}
		}
		m.early[uid] = true
		return
	}
	if m.ctx.Err() != nil {
		return
	}
	w, ok := m.workers[uid]
	if !ok {
		w = &worker{uid: uid, kick: make(chan struct{}, 1)}
		m.workers[uid] = w
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.work(m.ctx, w)
		}()
	}
	w.poke()
}

func (m *Manager) kickAll() {
	m.mu.Lock()
	uids := make([]string, 0, len(m.workers))
	for uid := range m.workers {
		uids = append(uids, uid)
	}
	m.mu.Unlock()
	for _, uid := range uids {
		m.Kick(uid)
	}
}

// PodHandler feeds pod objects' changes to the workers.
func (m *Manager) PodHandler() informer.Handler[*corev1.Pod] {
	kick := func(p *corev1.Pod) {
		if hash, ok := p.GetMetadata().GetAnnotations()[staticpods.AnnotationMirror]; ok {
			m.Kick(hash) // a mirror pod: its static pod reports on it
			return
		}
		m.Kick(p.GetMetadata().GetUid())
	}
	return informer.Handler[*corev1.Pod]{
		OnAdd:    kick,
		OnUpdate: func(_, p *corev1.Pod) { kick(p) },
		OnDelete: kick,
	}
}

// worker syncs one pod at a time; kicks while it syncs fold into one more
// sync.
type worker struct {
	uid  string
	kick chan struct{}
}

func (w *worker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// work syncs the pod on every kick and when a requeue falls due, until the
// pod is gone from both the API and the runtime.
func (m *Manager) work(ctx context.Context, w *worker) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-timer.C:
		}
		requeue, done := m.sync(ctx, w.uid)
		if done {
			m.mu.Lock()
			// A kick that arrived during the last sync means there is
			// something new: keep going.
			select {
			case <-w.kick:
				m.mu.Unlock()
				w.poke()
				continue
			default:
			}
			delete(m.workers, w.uid)
			delete(m.seen, w.uid)
			m.mu.Unlock()
			return
		}
		timer.Stop()
		if requeue > 0 {
			timer.Reset(requeue)
		}
	}
}

// relist lists the runtime's sandboxes and containers of this node and
// kicks the pods whose runtime state changed, including pods the kubelet
// did not know (adopted after a restart, or orphans to remove).
func (m *Manager) relist(ctx context.Context) {
	state, err := listNode(ctx, m.rt, m.cfg.NodeName)
	if err != nil {
		slog.WarnContext(ctx, "list the runtime's pods", "err", err)
		return
	}
	m.mu.Lock()
	var changed []string
	for uid, ps := range state {
		if fp := ps.fingerprint(); m.seen[uid] != fp {
			m.seen[uid] = fp
			changed = append(changed, uid)
		}
	}
	for uid := range m.seen {
		if _, ok := state[uid]; !ok {
			delete(m.seen, uid)
			changed = append(changed, uid)
		}
	}
	m.mu.Unlock()
	for _, uid := range changed {
		m.Kick(uid)
	}
}
