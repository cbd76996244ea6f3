package app

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/component"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/scheduler/internal/cache"
	"skiff.dev/services/scheduler/internal/config"
	"skiff.dev/services/scheduler/internal/external"
	"skiff.dev/services/scheduler/internal/nominator"
	"skiff.dev/services/scheduler/internal/preemption"
	"skiff.dev/services/scheduler/internal/queue"
	"skiff.dev/services/scheduler/internal/scheduler"
	"skiff.dev/services/scheduler/internal/storage"
)

// Run schedules until ctx ends.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return component.Run(ctx, "scheduler", &o.Options, o, func(ctx context.Context, c *client.Client, _ client.Config) (*component.Parts, error) {
		return build(ctx, o, c)
	})
}

// build makes the scheduler's parts: its out-of-process plugins, profiles,
// cache, queue and informers; the plugins stop when Run returns.
func build(ctx context.Context, o *Options, c *client.Client) (_ *component.Parts, err error) {
	m := newMetrics()
	file, err := config.Read(o.Config)
	if err != nil {
		return nil, fmt.Errorf("scheduler configuration: %w", err)
	}
	q := queue.New(queue.Options{})
	volumes := storage.New(storage.NewStore(), volumeAPI{c}, file.VolumeBindTimeout())
	registry := scheduler.Registry(volumes)
	var plugins []*external.Plugin
	stop := func() {
		for _, p := range plugins {
			p.Stop()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	hooks := external.Hooks{
		Restarted: func(name string) { m.pluginRestarts.WithLabelValues(name).Inc() },
		Failed:    func(name, point string) { m.pluginFailures.WithLabelValues(name, point).Inc() },
		Ready:     func(string) { q.MoveAll() }, // pods that failed on it may fit now
	}
	for _, cfg := range file.ExternalPlugins {
		p, err := external.Start(ctx, cfg, o.Level(), hooks)
		if err != nil {
			return nil, err
		}
		plugins = append(plugins, p)
		registry[p.Name()] = p
	}
	loaded, err := file.Build(registry)
	if err != nil {
		return nil, fmt.Errorf("scheduler configuration: %w", err)
	}
	profiles := map[string]*scheduler.Profile{}
	for _, p := range loaded {
		profiles[p.SchedulerName] = p
	}
	cch := cache.New(nil, o.AssumedPodTTL)
	eb := events.NewBroadcaster(events.ClientSink{C: c})
	b := newBinder(c, eb.Recorder(eventSource, ""), o.BindTimeout)
	nom := nominator.New()
	// Preemption spares the pods PodDisruptionBudgets protect where it can.
	pdbs := informer.New[*policyv1.PodDisruptionBudget](informer.FromResource(c.PolicyV1().PodDisruptionBudgets("")),
		informer.Options[*policyv1.PodDisruptionBudget]{})
	s := &scheduler.Scheduler{Cache: cch, Queue: q, Profiles: profiles, Binder: b, Observe: m.observe,
		PercentageOfNodesToScore: file.PercentageOfNodesToScore, Evictor: b, Nominator: nom,
		Budgets: preemption.PDBs{List: pdbs.Store().List}}

	pods := informer.New[*corev1.Pod](informer.FromResource(c.CoreV1().Pods("").Resource), informer.Options[*corev1.Pod]{})
	nodes := informer.New[*corev1.Node](informer.FromResource(c.CoreV1().Nodes()), informer.Options[*corev1.Node]{})
	wire(pods, nodes, cch, q, nom, profiles)
	volCaches, volStarts := volumeInformers(c, volumes.Store, q)

	background := []func(context.Context) error{eb.Run, pods.Start, nodes.Start, pdbs.Start,
		func(ctx context.Context) error { q.Run(ctx); return nil },
		func(ctx context.Context) error { m.watchQueue(ctx, q); return nil }}
	background = append(background, volStarts...)
	for _, p := range plugins {
		background = append(background, func(ctx context.Context) error { p.Run(ctx); return nil })
	}
	return &component.Parts{Metrics: m.registry, Caches: append([]component.Cache{pods, nodes, pdbs}, volCaches...),
		Background: background, Lead: s.Run, Close: stop}, nil
}

// wire routes informer events: pending pods of our profiles to the queue
// (and their nominated nodes to the nominator), bound pods and nodes to
// the cache, and changes that free room or add nodes to the queue's
// unschedulable pods.
func wire(pods *informer.Informer[*corev1.Pod], nodes *informer.Informer[*corev1.Node], cch *cache.Cache, q *queue.Queue, nom *nominator.Nominator, profiles map[string]*scheduler.Profile) {
	ours := func(p *corev1.Pod) bool {
		_, ok := profiles[p.GetSpec().GetSchedulerName()]
		return ok
	}
	pending := func(p *corev1.Pod) bool {
		phase := p.GetStatus().GetPhase()
		return p.GetSpec().GetNodeName() == "" && p.GetMetadata().GetDeletionTimestamp() == nil &&
			phase != "Succeeded" && phase != "Failed"
	}
	onPod := func(p *corev1.Pod) {
		switch {
		case pending(p) && ours(p):
			q.Add(p)
			if nn := p.GetStatus().GetNominatedNodeName(); nn != "" {
				nom.Add(p, nn)
			}
		case p.GetSpec().GetNodeName() != "":
			q.Delete(p)
			nom.Delete(p)
			cch.SetPod(p)
		default:
			q.Delete(p)
			nom.Delete(p)
		}
	}
	pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    onPod,
		OnUpdate: func(_, p *corev1.Pod) { onPod(p) },
		OnDelete: func(p *corev1.Pod) {
			q.Delete(p)
			nom.Delete(p)
			if p.GetSpec().GetNodeName() != "" {
				cch.RemovePod(p)
				q.MoveAll()
			}
		},
	})
	nodes.AddHandler(informer.Handler[*corev1.Node]{
		OnAdd: func(n *corev1.Node) { cch.SetNode(n); q.MoveAll() },
		OnUpdate: func(old, n *corev1.Node) {
			cch.SetNode(n)
			if nodeChangeMayHelp(old, n) {
				q.MoveAll()
			}
		},
		OnDelete: func(n *corev1.Node) { cch.RemoveNode(n.GetMetadata().GetName()) },
	})
}

// metrics are the scheduler's Prometheus series.
type metrics struct {
	registry *prometheus.Registry
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	pending  *prometheus.GaugeVec

	pluginRestarts *prometheus.CounterVec
	pluginFailures *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scheduler_schedule_attempts_total",
			Help: "Scheduling attempts by result: scheduled, unschedulable, error."}, []string{"result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "scheduler_scheduling_attempt_duration_seconds",
			Help: "Scheduling attempt latency (filter, score, assume).", Buckets: prometheus.ExponentialBuckets(0.00005, 1.25, 60)}, []string{"result"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "scheduler_pending_pods",
			Help: "Pending pods by queue: active, backoff, unschedulable."}, []string{"queue"}),
	}
	m.pluginRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scheduler_plugin_restarts_total",
		Help: "Restarts of out-of-process plugins after a crash or hang."}, []string{"plugin"})
	m.pluginFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scheduler_plugin_call_failures_total",
		Help: "Failed calls to out-of-process plugins by extension point."}, []string{"plugin", "extension_point"})
	m.registry.MustRegister(m.attempts, m.latency, m.pending, m.pluginRestarts, m.pluginFailures)
	return m
}

func (m *metrics) observe(result string, d time.Duration) {
	m.attempts.WithLabelValues(result).Inc()
	m.latency.WithLabelValues(result).Observe(d.Seconds())
}

func (m *metrics) watchQueue(ctx context.Context, q *queue.Queue) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a, b, u := q.Len()
		m.pending.WithLabelValues("active").Set(float64(a))
		m.pending.WithLabelValues("backoff").Set(float64(b))
		m.pending.WithLabelValues("unschedulable").Set(float64(u))
	}
}

// nodeChangeMayHelp reports whether a node update could make a waiting pod
// fit: its spec (taints, unschedulable), labels, annotations (plugins read
// them), allocatable resources or condition statuses changed. Heartbeats
// that only move timestamps do not.
func nodeChangeMayHelp(old, n *corev1.Node) bool {
	if !proto.Equal(old.GetSpec(), n.GetSpec()) ||
		!maps.Equal(old.GetMetadata().GetLabels(), n.GetMetadata().GetLabels()) ||
		!maps.Equal(old.GetMetadata().GetAnnotations(), n.GetMetadata().GetAnnotations()) {
		return true
	}
	oa, na := old.GetStatus().GetAllocatable(), n.GetStatus().GetAllocatable()
	if len(oa) != len(na) {
		return true
	}
	for k, v := range na {
		if oa[k].GetString_() != v.GetString_() {
			return true
		}
	}
	conditions := func(n *corev1.Node) map[string]string {
		out := map[string]string{}
		for _, c := range n.GetStatus().GetConditions() {
			out[c.GetType()] = c.GetStatus()
		}
		return out
	}
	return !maps.Equal(conditions(old), conditions(n))
}
