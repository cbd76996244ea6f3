package registry

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// A delete that names no propagation policy uses the kind's default (a
// batch/v1 Job orphans its pods) unless the object is already being
// deleted in the foreground; one that names a policy, or sets
// orphanDependents, gets what it asked for; no options at all is the
// default too.
func TestDefaultPropagation(t *testing.T) {
	obj := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "a"}}
	foreground := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "b", Finalizers: []string{FinalizerForeground}}}
	for _, tt := range []struct {
		name     string
		orphan   bool
		obj      *corev1.ConfigMap
		opts     *metav1.DeleteOptions
		orphaned bool
	}{
		{"no default", false, obj, &metav1.DeleteOptions{}, false},
		{"orphan by default", true, obj, &metav1.DeleteOptions{}, true},
		{"no options", true, obj, nil, true},
		{"already in the foreground", true, foreground, &metav1.DeleteOptions{}, false},
		{"background asked", true, obj, &metav1.DeleteOptions{PropagationPolicy: proto.String("Background")}, false},
		{"orphanDependents false", true, obj, &metav1.DeleteOptions{OrphanDependents: proto.Bool(false)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Store{res: &Resource{Strategy: Strategy{OrphanByDefault: tt.orphan}}}
			if got := slices.Contains(s.finalizersFor(tt.obj, tt.opts), FinalizerOrphan); got != tt.orphaned {
				t.Errorf("orphan finalizer %v, want %v", got, tt.orphaned)
			}
		})
	}
}
