package defaults

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestLimitRangeDefaults(t *testing.T) {
	lr := &corev1.LimitRange{Spec: &corev1.LimitRangeSpec{Limits: []*corev1.LimitRangeItem{
		{Type: "Container", Max: quantities("cpu", "2", "memory", "1Gi"), Min: quantities("cpu", "0.1", "ephemeral-storage", "1Mi"),
			Default: quantities("memory", "512Mi")},
		{Type: "Pod", Max: quantities("cpu", "4000m")},
	}}}
	LimitRange(lr)
	want := &corev1.LimitRange{Spec: &corev1.LimitRangeSpec{Limits: []*corev1.LimitRangeItem{
		// The default limit comes from max where unset; the default
		// request from the default limit, else from min.
		{Type: "Container", Max: quantities("cpu", "2", "memory", "1Gi"), Min: quantities("cpu", "100m", "ephemeral-storage", "1Mi"),
			Default:        quantities("cpu", "2", "memory", "512Mi"),
			DefaultRequest: quantities("cpu", "2", "memory", "512Mi", "ephemeral-storage", "1Mi")},
		// Only containers get defaults.
		{Type: "Pod", Max: quantities("cpu", "4")},
	}}}
	equal(t, lr, want)
}

func TestResourceQuotaCanonical(t *testing.T) {
	q := &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Hard: quantities("cpu", "1000m", "memory", "1.5Gi")}}
	ResourceQuota(q)
	equal(t, q, &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Hard: map[string]*metav1.Quantity{
		"cpu": {String_: "1"}, "memory": {String_: "1536Mi"}}}})
}
