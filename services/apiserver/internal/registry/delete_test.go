package registry

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// A delete that names no propagation policy uses the kind's default (a
// batch/v1 Job orphans its pods); one that names a policy, or sets
// orphanDependents, gets what it asked for.
func TestDefaultPropagation(t *testing.T) {
	obj := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "a"}}
	for _, tt := range []struct {
		name     string
		def      string
		opts     *metav1.DeleteOptions
		orphaned bool
	}{
		{"no default", "", &metav1.DeleteOptions{}, false},
		{"orphan by default", "Orphan", &metav1.DeleteOptions{}, true},
		{"background asked", "Orphan", &metav1.DeleteOptions{PropagationPolicy: proto.String("Background")}, false},
		{"orphanDependents false", "Orphan", &metav1.DeleteOptions{OrphanDependents: proto.Bool(false)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Store{res: &Resource{DefaultPropagation: tt.def}}
			if got := slices.Contains(s.finalizersFor(obj, tt.opts), FinalizerOrphan); got != tt.orphaned {
				t.Errorf("orphan finalizer %v, want %v", got, tt.orphaned)
			}
		})
	}
}
