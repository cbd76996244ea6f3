package printers

import (
	"slices"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestPolicyColumns(t *testing.T) {
	q := func(kv ...string) map[string]*metav1.Quantity {
		out := map[string]*metav1.Quantity{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
		}
		return out
	}
	quota := &corev1.ResourceQuota{Metadata: meta("compute"), Status: &corev1.ResourceQuotaStatus{
		Hard: q("pods", "10", "requests.cpu", "2", "limits.cpu", "4", "limits.memory", "8Gi", "count/configmaps", "5"),
		Used: q("pods", "1", "requests.cpu", "500m", "limits.memory", "1024Mi"),
	}}
	p := For("", "ResourceQuota")
	var names []string
	for _, c := range p.Columns {
		names = append(names, c.GetName())
	}
	if want := []string{"Name", "Request", "Limit", "Age"}; !slices.Equal(names, want) {
		t.Errorf("quota columns: got %q, want %q", names, want)
	}
	got := p.Cells(quota, now)
	want := []any{"compute", "count/configmaps: 0/5, pods: 1/10, requests.cpu: 500m/2", "limits.cpu: 0/4, limits.memory: 1Gi/8Gi", "5m"}
	if !slices.Equal(got, want) {
		t.Errorf("quota cells: got %q, want %q", got, want)
	}

	lr := For("", "LimitRange")
	if got := lr.Cells(&corev1.LimitRange{Metadata: meta("limits")}, now); !slices.Equal(got, []any{"limits", "2026-11-22T11:55:00Z"}) {
		t.Errorf("limit range cells: %q", got)
	}
}
