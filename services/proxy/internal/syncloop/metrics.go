package syncloop

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"skiff.dev/services/proxy/internal/model"
)

// Metrics are one loop's Prometheus series.
type Metrics struct {
	syncs       *prometheus.HistogramVec
	lastSync    prometheus.Gauge
	lastQueued  prometheus.Gauge
	rules       prometheus.Gauge
	written     prometheus.Counter
	errors      prometheus.Counter
	programming prometheus.Histogram
}

// NewMetrics names the series prefix+"_duration_seconds" (by kind, full or
// partial), prefix+"_last_timestamp_seconds",
// prefix+"_last_queued_timestamp_seconds", prefix+"_rules",
// prefix+"_written_total", prefix+"_errors_total", and programming (from a
// change to its rules being in the kernel); each carries labels. It
// registers them in reg.
func NewMetrics(reg prometheus.Registerer, prefix, programming string, labels prometheus.Labels) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 16) // 1 ms to 33 s
	m := &Metrics{
		syncs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: prefix + "_duration_seconds",
			Help: "How long a sync of the packet rules took, by kind (full or partial).", Buckets: buckets, ConstLabels: labels}, []string{"kind"}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "_last_timestamp_seconds",
			Help: "When the rules were last synced successfully (Unix seconds).", ConstLabels: labels}),
		lastQueued: prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "_last_queued_timestamp_seconds",
			Help: "When a change last asked for a sync (Unix seconds).", ConstLabels: labels}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "_rules",
			Help: "How many rules the tables hold after the last sync.", ConstLabels: labels}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: prefix + "_written_total",
			Help: "Objects (chains, rules, elements) written or deleted by syncs.", ConstLabels: labels}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: prefix + "_errors_total",
			Help: "Syncs that failed.", ConstLabels: labels}),
		programming: prometheus.NewHistogram(prometheus.HistogramOpts{Name: programming,
			Help:    "From a change (its trigger time if it has one, else its arrival here) to its rules being in the kernel.",
			Buckets: buckets, ConstLabels: labels}),
	}
	reg.MustRegister(m.syncs, m.lastSync, m.lastQueued, m.rules, m.written, m.errors, m.programming)
	return m
}

func (m *Metrics) observeSync(full bool, d time.Duration, stats model.SyncStats, err error) {
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
