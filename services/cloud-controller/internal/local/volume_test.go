package local

import (
	"context"
	"maps"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestGetVolumeLabels(t *testing.T) {
	node := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n1"}}
	tests := []struct {
		name   string
		config string
		node   *corev1.Node
		want   map[string]string
	}{
		{name: "pinned", config: "zone: z1\nregion: r1\n", node: node,
			want: map[string]string{"topology.kubernetes.io/zone": "z1", "topology.kubernetes.io/region": "r1"}},
		{name: "zone only", config: "zone: z1\n", node: node, want: map[string]string{"topology.kubernetes.io/zone": "z1"}},
		{name: "not pinned", config: "zone: z1\nregion: r1\n"},
		{name: "no zones configured", node: node, want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New([]byte(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.GetVolumeLabels(context.Background(), &corev1.PersistentVolume{}, tt.node)
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("GetVolumeLabels = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
