package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
)

func validClaim(name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{Metadata: &metav1.ObjectMeta{Name: name},
		Spec: &corev1.PersistentVolumeClaimSpec{AccessModes: []string{"ReadWriteOnce"},
			Resources: &corev1.VolumeResourceRequirements{Requests: map[string]*metav1.Quantity{"storage": {String_: "1Gi"}}}}}
}

func validStatefulSet() *appsv1.StatefulSet {
	labels := map[string]string{"app": "web"}
	s := &appsv1.StatefulSet{Spec: &appsv1.StatefulSetSpec{ServiceName: "web", Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx:1.27",
				VolumeMounts: []*corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}}}},
		VolumeClaimTemplates: []*corev1.PersistentVolumeClaim{validClaim("data")}}}
	defaults.StatefulSet(s)
	return s
}

func TestValidateStatefulSet(t *testing.T) {
	// The claim template's volume is the controller's: the mount of
	// "data" needs no volume in the template.
	expect(t, ValidateStatefulSet(validStatefulSet()))
	expect(t, ValidateStatefulSetCreate(validStatefulSet()))
	tests := []struct {
		name   string
		change func(*appsv1.StatefulSet)
		want   want
	}{
		{"pod management", func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Random" },
			want{field.ErrorTypeInvalid, "spec.podManagementPolicy"}},
		{"update strategy", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = "Recreate" },
			want{field.ErrorTypeInvalid, "spec.updateStrategy"}},
		{"on delete with rolling update", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = "OnDelete" },
			want{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate"}},
		{"negative partition", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = proto.Int32(-1) },
			want{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.partition"}},
		{"zero max unavailable", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &metav1.IntOrString{IntVal: 0}
		}, want{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.maxUnavailable"}},
		{"retention", func(s *appsv1.StatefulSet) { s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = "Keep" },
			want{field.ErrorTypeNotSupported, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"}},
		{"claim without storage", func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Spec.Resources = nil },
			want{field.ErrorTypeRequired, "spec.volumeClaimTemplates[0].spec.resources[storage]"}},
		{"claim without access modes", func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil },
			want{field.ErrorTypeRequired, "spec.volumeClaimTemplates[0].spec.accessModes"}},
		{"negative ordinal start", func(s *appsv1.StatefulSet) { s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1} },
			want{field.ErrorTypeInvalid, "spec.ordinals.start"}},
		{"service name", func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "Web_Service" },
			want{field.ErrorTypeInvalid, "spec.serviceName"}},
		{"empty selector", func(s *appsv1.StatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
			want{field.ErrorTypeInvalid, "spec.selector"}},
		{"selector mismatch", func(s *appsv1.StatefulSet) { s.Spec.Template.Metadata.Labels = map[string]string{"app": "db"} },
			want{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		{"restart policy", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.RestartPolicy = proto.String("Never") },
			want{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
		{"unknown mount", func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates = nil },
			want{field.ErrorTypeNotFound, "spec.template.spec.containers[0].volumeMounts[0].name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validStatefulSet()
			tt.change(s)
			expect(t, append(ValidateStatefulSet(s), ValidateStatefulSetCreate(s)...), tt.want)
		})
	}
}

func TestValidateStatefulSetUpdate(t *testing.T) {
	old := validStatefulSet()
	allowed := validStatefulSet()
	allowed.Spec.Replicas = proto.Int32(5)
	allowed.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	allowed.Spec.UpdateStrategy.RollingUpdate.Partition = proto.Int32(2)
	allowed.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = "Delete"
	allowed.Spec.MinReadySeconds = 3
	expect(t, ValidateStatefulSetUpdate(allowed, old))
	for name, change := range map[string]func(*appsv1.StatefulSet){
		"service name":     func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "db" },
		"pod management":   func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Parallel" },
		"claim templates":  func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates = nil },
		"selector changed": func(s *appsv1.StatefulSet) { s.Spec.Selector.MatchLabels["tier"] = "x" },
	} {
		s := validStatefulSet()
		change(s)
		if errs := ValidateStatefulSetUpdate(s, old); len(errs) != 1 || errs[0].Type != field.ErrorTypeForbidden || errs[0].Field != "spec" {
			t.Errorf("%s: got %v, want spec Forbidden", name, errs)
		}
	}
}

func TestValidateStatefulSetStatusUpdate(t *testing.T) {
	first := validStatefulSet()
	first.Status = &appsv1.StatefulSetStatus{Replicas: 1, CollisionCount: proto.Int32(0)}
	expect(t, ValidateStatefulSetStatusUpdate(first, validStatefulSet()))
	old := validStatefulSet()
	old.Status = &appsv1.StatefulSetStatus{Replicas: 3, CollisionCount: proto.Int32(2)}
	s := proto.Clone(old).(*appsv1.StatefulSet)
	s.Status.ReadyReplicas, s.Status.AvailableReplicas, s.Status.CollisionCount = 4, 2, proto.Int32(1)
	expect(t, ValidateStatefulSetStatusUpdate(s, old), want{field.ErrorTypeInvalid, "status.readyReplicas"},
		want{field.ErrorTypeInvalid, "status.collisionCount"})
}

func TestValidatePersistentVolumeClaim(t *testing.T) {
	c := validClaim("data")
	defaults.PersistentVolumeClaim(c)
	if c.GetSpec().GetVolumeMode() != "Filesystem" || c.GetStatus().GetPhase() != "Pending" {
		t.Fatalf("defaults: volumeMode %q, phase %q", c.GetSpec().GetVolumeMode(), c.GetStatus().GetPhase())
	}
	expect(t, ValidatePersistentVolumeClaim(c))
	tests := []struct {
		name   string
		change func(*corev1.PersistentVolumeClaim)
		want   want
	}{
		{"access mode", func(c *corev1.PersistentVolumeClaim) { c.Spec.AccessModes = []string{"ReadSometimes"} },
			want{field.ErrorTypeNotSupported, "spec.accessModes"}},
		{"once pod with others", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []string{"ReadWriteOncePod", "ReadOnlyMany"}
		},
			want{field.ErrorTypeForbidden, "spec.accessModes"}},
		{"zero storage", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests["storage"] = &metav1.Quantity{String_: "0"}
		},
			want{field.ErrorTypeInvalid, "spec.resources[storage]"}},
		{"volume mode", func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = proto.String("Raw") },
			want{field.ErrorTypeNotSupported, "spec.volumeMode"}},
		{"storage class", func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = proto.String("Fast_SSD") },
			want{field.ErrorTypeInvalid, "spec.storageClassName"}},
		{"data source kind", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Secret", Name: "x"}
		}, want{field.ErrorTypeInvalid, "spec.dataSource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validClaim("data")
			defaults.PersistentVolumeClaim(c)
			tt.change(c)
			expect(t, ValidatePersistentVolumeClaim(c), tt.want)
		})
	}
}

func TestValidatePersistentVolumeClaimUpdate(t *testing.T) {
	old := validClaim("data")
	defaults.PersistentVolumeClaim(old)
	grown := proto.Clone(old).(*corev1.PersistentVolumeClaim)
	grown.Spec.Resources.Requests["storage"] = &metav1.Quantity{String_: "2Gi"}
	// A Pending claim keeps its request; a bound one may grow.
	expect(t, ValidatePersistentVolumeClaimUpdate(grown, old), want{field.ErrorTypeForbidden, "spec"})
	grown.Status.Phase = "Bound"
	expect(t, ValidatePersistentVolumeClaimUpdate(grown, old))
	named := proto.Clone(old).(*corev1.PersistentVolumeClaim)
	named.Spec.VolumeName = "pv-1"
	expect(t, ValidatePersistentVolumeClaimUpdate(named, old))
	modes := proto.Clone(old).(*corev1.PersistentVolumeClaim)
	modes.Spec.AccessModes = []string{"ReadWriteMany"}
	expect(t, ValidatePersistentVolumeClaimUpdate(modes, old), want{field.ErrorTypeForbidden, "spec"})
}
