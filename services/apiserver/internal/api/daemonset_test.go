package api

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

func daemonSet(name string) *appsv1.DaemonSet {
	labels := map[string]string{"app": name}
	return &appsv1.DaemonSet{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: &appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "agent:1"}}}}}}
}

// TestDaemonSetStrategy: Kubernetes' defaults, the template generation
// annotation that goes up with template changes only, and an immutable
// selector.
func TestDaemonSetStrategy(t *testing.T) {
	a, ctx := newTestAPI(t)
	dss := a.Backend("apps", "daemonsets")
	obj, err := dss.Create(ctx, daemonSet("agent"), registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds := obj.(*appsv1.DaemonSet)
	st := ds.GetSpec().GetUpdateStrategy()
	if st.GetType() != "RollingUpdate" || st.GetRollingUpdate().GetMaxUnavailable().GetIntVal() != 1 ||
		st.GetRollingUpdate().GetMaxSurge() == nil || st.GetRollingUpdate().GetMaxSurge().GetIntVal() != 0 ||
		ds.GetSpec().GetRevisionHistoryLimit() != 10 {
		t.Fatalf("defaults: got %v, revisionHistoryLimit %d", st, ds.GetSpec().GetRevisionHistoryLimit())
	}
	if got := ds.GetMetadata().GetAnnotations()["deprecated.daemonset.template.generation"]; got != "1" {
		t.Fatalf("template generation %q on create, want 1", got)
	}

	// A spec change outside the template bumps the generation only.
	ds.Spec.MinReadySeconds = 5
	obj, err = dss.Update(ctx, ds, registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds = obj.(*appsv1.DaemonSet)
	if g, tg := ds.GetMetadata().GetGeneration(), ds.GetMetadata().GetAnnotations()["deprecated.daemonset.template.generation"]; g != 2 || tg != "1" {
		t.Fatalf("after a minReadySeconds change: generation %d, template generation %s; want 2, 1", g, tg)
	}
	ds.Spec.Template.Spec.Containers[0].Image = "agent:2"
	delete(ds.Metadata.Annotations, "deprecated.daemonset.template.generation")
	obj, err = dss.Update(ctx, ds, registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds = obj.(*appsv1.DaemonSet)
	if g, tg := ds.GetMetadata().GetGeneration(), ds.GetMetadata().GetAnnotations()["deprecated.daemonset.template.generation"]; g != 3 || tg != "2" {
		t.Fatalf("after an image change: generation %d, template generation %s; want 3, 2", g, tg)
	}

	// Status writes keep the annotation and refuse a lower collision count.
	ds.Status = &appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CollisionCount: proto.Int32(2)}
	ds.Metadata.Annotations["deprecated.daemonset.template.generation"] = "9"
	obj, err = dss.UpdateStatus(ctx, ds, registry.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds = obj.(*appsv1.DaemonSet)
	if ds.GetStatus().GetDesiredNumberScheduled() != 3 || ds.GetMetadata().GetAnnotations()["deprecated.daemonset.template.generation"] != "2" {
		t.Fatalf("status write: got %v %v", ds.GetStatus(), ds.GetMetadata().GetAnnotations())
	}
	ds.Status.CollisionCount = proto.Int32(1)
	_, err = dss.UpdateStatus(ctx, ds, registry.UpdateOptions{})
	wantCauses(t, err, "status.collisionCount")

	ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent", "x": "y"}}
	ds.Spec.Template.Metadata.Labels["x"] = "y"
	_, err = dss.Update(ctx, ds, registry.UpdateOptions{})
	wantCauses(t, err, "spec.selector")
}

func TestDaemonSetValidation(t *testing.T) {
	a, ctx := newTestAPI(t)
	dss := a.Backend("apps", "daemonsets")
	for _, c := range []struct {
		name   string
		edit   func(*appsv1.DaemonSet)
		fields []string
	}{
		{"selector does not match", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Metadata.Labels = map[string]string{"app": "other"} },
			[]string{"spec.template.metadata.labels"}},
		{"empty selector", func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} },
			[]string{"spec.selector"}},
		{"restart policy", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.RestartPolicy = proto.String("OnFailure") },
			[]string{"spec.template.spec.restartPolicy"}},
		{"both bounds", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = &appsv1.DaemonSetUpdateStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: &metav1.IntOrString{IntVal: 1}, MaxSurge: &metav1.IntOrString{Type: 1, StrVal: "10%"}}}
		}, []string{"spec.updateStrategy.rollingUpdate.maxSurge"}},
		{"no bound", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = &appsv1.DaemonSetUpdateStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: &metav1.IntOrString{IntVal: 0}, MaxSurge: &metav1.IntOrString{IntVal: 0}}}
		}, []string{"spec.updateStrategy.rollingUpdate.maxUnavailable"}},
		{"strategy type", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy = &appsv1.DaemonSetUpdateStrategy{Type: "Recreate"} },
			[]string{"spec.updateStrategy"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds := daemonSet("bad")
			c.edit(ds)
			_, err := dss.Create(ctx, ds, registry.CreateOptions{})
			wantCauses(t, err, c.fields...)
		})
	}
}

// wantCauses checks that err is Invalid with causes on exactly fields.
func wantCauses(t *testing.T, err error, fields ...string) {
	t.Helper()
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.Status.GetReason() != "Invalid" {
		t.Fatalf("got %v, want Invalid", err)
	}
	var got []string
	for _, c := range se.Status.GetDetails().GetCauses() {
		got = append(got, c.GetField())
	}
	slices.Sort(got)
	got = slices.Compact(got)
	if !slices.Equal(got, fields) {
		t.Fatalf("got causes on %v (%v), want %v", got, se.Status.GetDetails().GetCauses(), fields)
	}
}
