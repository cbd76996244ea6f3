package pvlabel

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
)

func TestPinnedTo(t *testing.T) {
	req := func(key, op string, values ...string) *corev1.NodeSelectorRequirement {
		return &corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	pv := func(terms ...*corev1.NodeSelectorTerm) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{Spec: &corev1.PersistentVolumeSpec{
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: terms}}}}
	}
	tests := []struct {
		name         string
		pv           *corev1.PersistentVolume
		want         string
		wantHostname bool
	}{
		{name: "no affinity", pv: &corev1.PersistentVolume{}},
		{name: "local CSI key", pv: pv(&corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req(localCSIKey, "In", "n1")}}), want: "n1"},
		{name: "hostname", pv: pv(&corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req(hostnameLabel, "In", "h1")}}), want: "h1", wantHostname: true},
		{name: "metadata.name field", pv: pv(&corev1.NodeSelectorTerm{MatchFields: []*corev1.NodeSelectorRequirement{req("metadata.name", "In", "n2")}}), want: "n2"},
		{name: "two values", pv: pv(&corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req(hostnameLabel, "In", "a", "b")}})},
		{name: "NotIn", pv: pv(&corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req(hostnameLabel, "NotIn", "a")}})},
		{name: "zone only", pv: pv(&corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req("topology.kubernetes.io/zone", "In", "z")}})},
		{name: "two terms", pv: pv(&corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req(hostnameLabel, "In", "a")}},
			&corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req(hostnameLabel, "In", "b")}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, byHostname := PinnedTo(tt.pv)
			if got != tt.want || byHostname != tt.wantHostname {
				t.Errorf("PinnedTo = %q, %v; want %q, %v", got, byHostname, tt.want, tt.wantHostname)
			}
		})
	}
}
