package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
)

// validRC is a ReplicationController whose selector and labels come from
// its template's labels by defaulting.
func validRC() *corev1.ReplicationController {
	rc := &corev1.ReplicationController{Metadata: &metav1.ObjectMeta{Name: "web"}, Spec: &corev1.ReplicationControllerSpec{
		Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
	defaults.ReplicationController(rc)
	return rc
}

func TestReplicationControllerDefaults(t *testing.T) {
	rc := validRC()
	if got := rc.GetSpec().GetSelector()["app"]; got != "web" {
		t.Errorf("selector app = %q, want web (the template's labels)", got)
	}
	if got := rc.GetMetadata().GetLabels()["app"]; got != "web" {
		t.Errorf("label app = %q, want web (the template's labels)", got)
	}
	if got := rc.GetSpec().GetReplicas(); got != 1 {
		t.Errorf("replicas = %d, want 1", got)
	}
	if got := rc.GetSpec().GetTemplate().GetSpec().GetRestartPolicy(); got != "Always" {
		t.Errorf("restartPolicy = %q, want Always", got)
	}
	own := &corev1.ReplicationController{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"team": "a"}},
		Spec: &corev1.ReplicationControllerSpec{Selector: map[string]string{"app": "web", "v": "1"},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web", "v": "1", "x": "y"}}}}}
	defaults.ReplicationController(own)
	if len(own.Spec.Selector) != 2 || own.Metadata.Labels["team"] != "a" || len(own.Metadata.Labels) != 1 {
		t.Errorf("selector %v labels %v: a given selector and labels must be kept", own.Spec.Selector, own.Metadata.Labels)
	}
}

func TestValidateReplicationController(t *testing.T) {
	expect(t, ValidateReplicationController(validRC()))
	tests := []struct {
		name   string
		change func(*corev1.ReplicationController)
		want   want
	}{
		{"empty selector", func(rc *corev1.ReplicationController) { rc.Spec.Selector = nil }, want{field.ErrorTypeRequired, "spec.selector"}},
		{"selector mismatch", func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "db"} },
			want{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		{"no replicas", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = nil }, want{field.ErrorTypeRequired, "spec.replicas"}},
		{"negative replicas", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = proto.Int32(-1) },
			want{field.ErrorTypeInvalid, "spec.replicas"}},
		{"negative minReadySeconds", func(rc *corev1.ReplicationController) { rc.Spec.MinReadySeconds = -1 },
			want{field.ErrorTypeInvalid, "spec.minReadySeconds"}},
		{"no template", func(rc *corev1.ReplicationController) { rc.Spec.Template = nil }, want{field.ErrorTypeRequired, "spec.template"}},
		{"restart policy", func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = proto.String("OnFailure")
		},
			want{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
		{"active deadline", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.ActiveDeadlineSeconds = proto.Int64(5) },
			want{field.ErrorTypeForbidden, "spec.template.spec.activeDeadlineSeconds"}},
		{"pod spec", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.Containers[0].Image = "" },
			want{field.ErrorTypeRequired, "spec.template.spec.containers[0].image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := validRC()
			tt.change(rc)
			expect(t, ValidateReplicationController(rc), tt.want)
		})
	}
	mismatch := validRC()
	mismatch.Spec.Selector = map[string]string{"app": "db"}
	errs := ValidateReplicationController(mismatch)
	if want := `spec.template.metadata.labels: Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"; len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got %v, want %s", errs, want)
	}
}

func TestValidateReplicationControllerStatus(t *testing.T) {
	rc := validRC()
	rc.Status = &corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 1}
	expect(t, ValidateReplicationControllerStatus(rc, rc))
	rc.Status.ReadyReplicas = 3
	expect(t, ValidateReplicationControllerStatus(rc, rc), want{field.ErrorTypeInvalid, "status.readyReplicas"})
}
