package defaults

import (
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestPodDefaults(t *testing.T) {
	p := &corev1.Pod{Spec: &corev1.PodSpec{Containers: []*corev1.Container{
		{Name: "a", Image: "nginx", Ports: []*corev1.ContainerPort{{ContainerPort: 80}},
			Resources:     &corev1.ResourceRequirements{Limits: map[string]*metav1.Quantity{"cpu": {String_: "1000m"}, "memory": {String_: "1Gi"}}},
			LivenessProbe: &corev1.Probe{Handler: &corev1.ProbeHandler{HttpGet: &corev1.HTTPGetAction{Path: "/"}}}},
		{Name: "b", Image: "registry.local:5000/app:v2"},
	}}}
	Pod(p)
	s := p.GetSpec()
	if s.GetRestartPolicy() != "Always" || s.GetDnsPolicy() != "ClusterFirst" || s.GetTerminationGracePeriodSeconds() != 30 ||
		s.GetSchedulerName() != "default-scheduler" || s.GetServiceAccountName() != "default" {
		t.Fatalf("spec defaults: %v", s)
	}
	a, b := s.GetContainers()[0], s.GetContainers()[1]
	if a.GetImagePullPolicy() != "Always" || b.GetImagePullPolicy() != "IfNotPresent" {
		t.Fatalf("pull policies %s %s", a.GetImagePullPolicy(), b.GetImagePullPolicy())
	}
	if a.GetPorts()[0].GetProtocol() != "TCP" || a.GetTerminationMessagePath() != "/dev/termination-log" {
		t.Fatalf("container defaults: %v", a)
	}
	if lp := a.GetLivenessProbe(); lp.GetTimeoutSeconds() != 1 || lp.GetPeriodSeconds() != 10 || lp.GetFailureThreshold() != 3 ||
		lp.GetHandler().GetHttpGet().GetScheme() != "HTTP" {
		t.Fatalf("probe defaults: %v", lp)
	}
	if got := a.GetResources().GetRequests()["cpu"].GetString_(); got != "1" {
		t.Fatalf("request from limit: %q, want the canonical 1", got)
	}
	if p.GetStatus().GetPhase() != "Pending" || p.GetStatus().GetQosClass() != "Burstable" {
		t.Fatalf("status: %v", p.GetStatus())
	}
}

func TestPullPolicy(t *testing.T) {
	for image, want := range map[string]string{
		"nginx": "Always", "nginx:latest": "Always", "nginx:1.27": "IfNotPresent",
		"localhost:5000/app": "Always", "localhost:5000/app:1": "IfNotPresent", "app@sha256:abc": "IfNotPresent",
	} {
		if got := PullPolicy(image); got != want {
			t.Errorf("%s: %s, want %s", image, got, want)
		}
	}
}

func TestDeploymentServiceSecretDefaults(t *testing.T) {
	d := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{}}}}
	Deployment(d)
	ru := d.GetSpec().GetStrategy().GetRollingUpdate()
	if d.GetSpec().GetReplicas() != 1 || d.GetSpec().GetStrategy().GetType() != "RollingUpdate" ||
		ru.GetMaxSurge().GetStrVal() != "25%" || ru.GetMaxUnavailable().GetStrVal() != "25%" ||
		d.GetSpec().GetRevisionHistoryLimit() != 10 || d.GetSpec().GetProgressDeadlineSeconds() != 600 ||
		d.GetSpec().GetTemplate().GetSpec().GetRestartPolicy() != "Always" {
		t.Fatalf("deployment defaults: %v", d.GetSpec())
	}
	s := &corev1.Service{Spec: &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80}}}}
	Service(s)
	if s.GetSpec().GetType() != "ClusterIP" || s.GetSpec().GetSessionAffinity() != "None" ||
		s.GetSpec().GetPorts()[0].GetProtocol() != "TCP" || s.GetSpec().GetPorts()[0].GetTargetPort().GetIntVal() != 80 {
		t.Fatalf("service defaults: %v", s.GetSpec())
	}
	sec := &corev1.Secret{Data: map[string][]byte{"a": []byte("1")}, StringData: map[string]string{"a": "2", "b": "3"}}
	Secret(sec)
	want := &corev1.Secret{Type: "Opaque", Data: map[string][]byte{"a": []byte("2"), "b": []byte("3")}}
	if !proto.Equal(sec, want) {
		t.Fatalf("secret: %v", sec)
	}
}
