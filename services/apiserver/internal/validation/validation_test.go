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

func validPod() *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: &corev1.PodSpec{
		Volumes:    []*corev1.Volume{{Name: "data", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		Containers: []*corev1.Container{{Name: "c", Image: "busybox:1.36", VolumeMounts: []*corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
	}}
	defaults.Pod(p)
	return p
}

// has reports whether errs holds an error of the type at the path.
func has(errs field.ErrorList, typ field.ErrorType, path string) bool {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return true
		}
	}
	return false
}

func TestValidatePod(t *testing.T) {
	if errs := ValidatePod(validPod()); len(errs) > 0 {
		t.Fatalf("valid pod: %v", errs)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*corev1.Pod)
		typ    field.ErrorType
		path   string
	}{
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, field.ErrorTypeRequired, "spec.containers"},
		{"bad name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Bad_Name" }, field.ErrorTypeInvalid, "spec.containers[0].name"},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, field.ErrorTypeRequired, "spec.containers[0].image"},
		{"duplicate name", func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) }, field.ErrorTypeDuplicate, "spec.containers[1].name"},
		{"restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = proto.String("Sometimes") }, field.ErrorTypeNotSupported, "spec.restartPolicy"},
		{"port", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []*corev1.ContainerPort{{ContainerPort: 70000, Protocol: "TCP"}}
		}, field.ErrorTypeInvalid, "spec.containers[0].ports[0].containerPort"},
		{"protocol", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []*corev1.ContainerPort{{ContainerPort: 80, Protocol: "HTTP"}}
		}, field.ErrorTypeNotSupported, "spec.containers[0].ports[0].protocol"},
		{"mount of a missing volume", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "nope" }, field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[0].name"},
		{"requests over limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{
				Limits:   map[string]*metav1.Quantity{"cpu": {String_: "1"}},
				Requests: map[string]*metav1.Quantity{"cpu": {String_: "2"}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].resources.requests[cpu]"},
		{"bad quantity", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{Limits: map[string]*metav1.Quantity{"memory": {String_: "lots"}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].resources.limits[memory]"},
	} {
		p := validPod()
		tc.break_(p)
		if errs := ValidatePod(p); !has(errs, tc.typ, tc.path) {
			t.Errorf("%s: got %v, want %s at %s", tc.name, errs, tc.typ, tc.path)
		}
	}
}

func TestValidatePodUpdate(t *testing.T) {
	old := validPod()
	old.Spec.NodeName = proto.String("node-1")

	image := proto.Clone(old).(*corev1.Pod)
	image.Spec.Containers[0].Image = "busybox:1.37"
	if errs := ValidatePodUpdate(image, old); len(errs) > 0 {
		t.Fatalf("image change refused: %v", errs)
	}
	node := proto.Clone(old).(*corev1.Pod)
	node.Spec.NodeName = proto.String("node-2")
	if errs := ValidatePodUpdate(node, old); !has(errs, field.ErrorTypeInvalid, "spec.nodeName") {
		t.Fatalf("nodeName change: %v", errs)
	}
	renamed := proto.Clone(old).(*corev1.Pod)
	renamed.Spec.Containers[0].Name = "other"
	if errs := ValidatePodUpdate(renamed, old); !has(errs, field.ErrorTypeInvalid, "spec.containers[0].name") ||
		!has(errs, field.ErrorTypeForbidden, "spec") {
		t.Fatalf("container rename: %v", errs)
	}
	unbound := validPod()
	bound := proto.Clone(unbound).(*corev1.Pod)
	bound.Spec.NodeName = proto.String("node-1")
	if errs := ValidatePodUpdate(bound, unbound); len(errs) > 0 {
		t.Fatalf("first binding refused: %v", errs)
	}
}

func TestValidateDeployment(t *testing.T) {
	labels := map[string]string{"app": "web"}
	valid := func() *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
		defaults.Deployment(d)
		return d
	}
	if errs := ValidateDeployment(valid()); len(errs) > 0 {
		t.Fatalf("valid deployment: %v", errs)
	}
	d := valid()
	d.Spec.Template.Metadata.Labels = map[string]string{"app": "other"}
	if errs := ValidateDeployment(d); !has(errs, field.ErrorTypeInvalid, "spec.template.metadata.labels") {
		t.Fatalf("selector mismatch: %v", errs)
	}
	d = valid()
	d.Spec.Strategy.RollingUpdate.MaxSurge = &metav1.IntOrString{IntVal: 0}
	d.Spec.Strategy.RollingUpdate.MaxUnavailable = &metav1.IntOrString{IntVal: 0}
	if errs := ValidateDeployment(d); !has(errs, field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxUnavailable") {
		t.Fatalf("0/0 rolling update: %v", errs)
	}
	d = valid()
	d.Spec.Template.Spec.RestartPolicy = proto.String("Never")
	if errs := ValidateDeployment(d); !has(errs, field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy") {
		t.Fatalf("restartPolicy Never: %v", errs)
	}
	changed := valid()
	changed.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "new"}}
	if errs := ValidateDeploymentUpdate(changed, valid()); !has(errs, field.ErrorTypeInvalid, "spec.selector") {
		t.Fatalf("selector change: %v", errs)
	}
}

func TestValidateServiceAndConfigMap(t *testing.T) {
	s := &corev1.Service{Spec: &corev1.ServiceSpec{Type: "ClusterIP", SessionAffinity: "None",
		Ports: []*corev1.ServicePort{{Port: 80, Protocol: "TCP"}, {Port: 443, Protocol: "TCP"}}}}
	if errs := ValidateService(s); !has(errs, field.ErrorTypeRequired, "spec.ports[0].name") {
		t.Fatalf("unnamed ports: %v", errs)
	}
	old := &corev1.Service{Spec: &corev1.ServiceSpec{ClusterIp: "10.0.0.1"}}
	upd := &corev1.Service{Spec: &corev1.ServiceSpec{ClusterIp: "10.0.0.2"}}
	if errs := ValidateServiceUpdate(upd, old); !has(errs, field.ErrorTypeInvalid, "spec.clusterIP") {
		t.Fatalf("clusterIP change: %v", errs)
	}
	cm := &corev1.ConfigMap{Data: map[string]string{"bad key": "x"}}
	if errs := ValidateConfigMap(cm); !has(errs, field.ErrorTypeInvalid, "data[bad key]") {
		t.Fatalf("bad key: %v", errs)
	}
	immutable := &corev1.ConfigMap{Immutable: proto.Bool(true), Data: map[string]string{"a": "1"}}
	edited := &corev1.ConfigMap{Immutable: proto.Bool(true), Data: map[string]string{"a": "2"}}
	if errs := ValidateConfigMapUpdate(edited, immutable); !has(errs, field.ErrorTypeForbidden, "data") {
		t.Fatalf("immutable edit: %v", errs)
	}
}
