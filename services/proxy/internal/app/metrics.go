package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"skiff.dev/services/proxy/internal/model"
)

// metrics are the proxy's Prometheus series, named as kube-proxy names
// the same measurements.
type metrics struct {
	registry    *prometheus.Registry
	syncs       *prometheus.HistogramVec
	lastSync    prometheus.Gauge
	lastQueued  prometheus.Gauge
	rules       prometheus.Gauge
	written     prometheus.Counter
	errors      prometheus.Counter
	programming prometheus.Histogram
}

func newMetrics(mode string) *metrics {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 16) // 1 ms to 33 s
	constLabels := prometheus.Labels{"mode": mode}
	m := &metrics{
		registry: prometheus.NewRegistry(),
		syncs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kubeproxy_sync_proxy_rules_duration_seconds",
			Help: "How long a sync of the packet rules took, by kind (full or partial).", Buckets: buckets, ConstLabels: constLabels}, []string{"kind"}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
			Help: "When the rules were last synced successfully (Unix seconds).", ConstLabels: constLabels}),
		lastQueued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
			Help: "When a change last asked for a sync (Unix seconds).", ConstLabels: constLabels}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubeproxy_sync_proxy_rules_rules",
			Help: "How many rules the proxy's chains hold after the last sync.", ConstLabels: constLabels}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "kubeproxy_sync_proxy_rules_written_total",
			Help: "Objects (chains, rules, elements) written or deleted by syncs.", ConstLabels: constLabels}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "kubeproxy_sync_proxy_rules_errors_total",
			Help: "Syncs that failed.", ConstLabels: constLabels}),
		programming: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kubeproxy_network_programming_duration_seconds",
			Help:    "From a change (an EndpointSlice's last-change-trigger-time, else its arrival here) to its rules being in the kernel.",
			Buckets: buckets, ConstLabels: constLabels}),
	}
	m.registry.MustRegister(m.syncs, m.lastSync, m.lastQueued, m.rules, m.written, m.errors, m.programming)
	return m
}

func (m *metrics) observeSync(full bool, d time.Duration, stats model.SyncStats, err error) {
	if err != nil {
		m.errors.Inc()
		return
	}
	kind := "partial"
	if full {
		kind = "full"
	}
	m.syncs.WithLabelValues(kind).Observe(d.Seconds())
	m.lastSync.Set(float64(time.Now().UnixNano()) / 1e9)
	m.rules.Set(float64(stats.Rules))
	m.written.Add(float64(stats.Written))
}
