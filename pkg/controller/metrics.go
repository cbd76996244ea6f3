package controller

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the reconcile series every controller process exports:
// controller_reconcile_total{controller,result} and
// controller_reconcile_duration_seconds{controller}.
type Metrics struct {
	reconciles *prometheus.CounterVec
	latency    *prometheus.HistogramVec
}

// NewMetrics registers the series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_reconcile_total",
			Help: "Reconciles by controller and result (success, error)."}, []string{"controller", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "controller_reconcile_duration_seconds",
			Help: "Reconcile latency by controller.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}, []string{"controller"}),
	}
	reg.MustRegister(m.reconciles, m.latency)
	return m
}

// Observe counts one reconcile; it is an Observer.
func (m *Metrics) Observe(controller string, d time.Duration, err error) {
	result := "success"
	if err != nil {
		result = "error"
	}
	m.reconciles.WithLabelValues(controller, result).Inc()
	m.latency.WithLabelValues(controller).Observe(d.Seconds())
}
