package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
)

func validDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}
	defaults.Deployment(d)
	return d
}

func TestValidateDeployment(t *testing.T) {
	expect(t, ValidateDeployment(validDeployment()))
	ru := func(d *appsv1.Deployment) *appsv1.RollingUpdateDeployment { return d.Spec.Strategy.RollingUpdate }
	tests := []struct {
		name   string
		change func(*appsv1.Deployment)
		want   want
	}{
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, want{field.ErrorTypeRequired, "spec.selector"}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want{field.ErrorTypeInvalid, "spec.selector"}},
		{"selector mismatch", func(d *appsv1.Deployment) { d.Spec.Template.Metadata.Labels = map[string]string{"app": "other"} },
			want{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		{"bad selector operator", func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []*metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}
		}, want{field.ErrorTypeInvalid, "spec.selector.matchExpressions[0].operator"}},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = proto.Int32(-1) }, want{field.ErrorTypeInvalid, "spec.replicas"}},
		{"restart policy", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = proto.String("Never") },
			want{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
		{"pod spec", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			want{field.ErrorTypeRequired, "spec.template.spec.containers[0].image"}},
		{"strategy", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, want{field.ErrorTypeNotSupported, "spec.strategy"}},
		{"recreate with rolling update", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "Recreate" },
			want{field.ErrorTypeForbidden, "spec.strategy.rollingUpdate"}},
		{"both zero", func(d *appsv1.Deployment) {
			ru(d).MaxSurge = &metav1.IntOrString{IntVal: 0}
			ru(d).MaxUnavailable = &metav1.IntOrString{Type: 1, StrVal: "0%"}
		}, want{field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxUnavailable"}},
		{"bad percent", func(d *appsv1.Deployment) { ru(d).MaxSurge = &metav1.IntOrString{Type: 1, StrVal: "half"} },
			want{field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxSurge"}},
		{"over 100%", func(d *appsv1.Deployment) { ru(d).MaxUnavailable = &metav1.IntOrString{Type: 1, StrVal: "150%"} },
			want{field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxUnavailable"}},
		{"history limit", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = proto.Int32(-1) },
			want{field.ErrorTypeInvalid, "spec.revisionHistoryLimit"}},
		{"progress deadline", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 },
			want{field.ErrorTypeInvalid, "spec.progressDeadlineSeconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDeployment()
			tt.change(d)
			expect(t, ValidateDeployment(d), tt.want)
		})
	}
	changed := validDeployment()
	changed.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "new"}}
	expect(t, ValidateDeploymentUpdate(changed, validDeployment()), want{field.ErrorTypeInvalid, "spec.selector"})
	expect(t, ValidateDeploymentUpdate(validDeployment(), validDeployment()))
}

func TestValidateReplicaSet(t *testing.T) {
	d := validDeployment()
	rs := &appsv1.ReplicaSet{Spec: &appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}
	defaults.ReplicaSet(rs)
	expect(t, ValidateReplicaSet(rs))
	rs.Spec.Selector = &metav1.LabelSelector{}
	errs := ValidateReplicaSet(rs)
	expect(t, errs, want{field.ErrorTypeInvalid, "spec.selector"})
	if !strings.Contains(errs.Error(), "empty selector is invalid for deployment") {
		t.Errorf("got %v, want Kubernetes' empty selector message", errs)
	}
	old := proto.Clone(rs).(*appsv1.ReplicaSet)
	old.Spec.Selector = d.Spec.Selector
	expect(t, ValidateReplicaSetUpdate(rs, old), want{field.ErrorTypeInvalid, "spec.selector"})
}

func validService() *corev1.Service {
	s := &corev1.Service{Spec: &corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
		Ports: []*corev1.ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443}}}}
	defaults.Service(s)
	return s
}

func TestValidateService(t *testing.T) {
	expect(t, ValidateService(validService()))
	tests := []struct {
		name   string
		change func(*corev1.ServiceSpec)
		want   want
	}{
		{"type", func(s *corev1.ServiceSpec) { s.Type = "Magic" }, want{field.ErrorTypeNotSupported, "spec.type"}},
		{"no ports", func(s *corev1.ServiceSpec) { s.Ports = nil }, want{field.ErrorTypeRequired, "spec.ports"}},
		{"unnamed port", func(s *corev1.ServiceSpec) { s.Ports[1].Name = "" }, want{field.ErrorTypeRequired, "spec.ports[1].name"}},
		{"duplicate name", func(s *corev1.ServiceSpec) { s.Ports[1].Name = "http" }, want{field.ErrorTypeDuplicate, "spec.ports[1].name"}},
		{"port", func(s *corev1.ServiceSpec) { s.Ports[0].Port = 0 }, want{field.ErrorTypeInvalid, "spec.ports[0].port"}},
		{"protocol", func(s *corev1.ServiceSpec) { s.Ports[0].Protocol = "ICMP" }, want{field.ErrorTypeNotSupported, "spec.ports[0].protocol"}},
		{"node port on cluster IP", func(s *corev1.ServiceSpec) { s.Ports[0].NodePort = 30080 },
			want{field.ErrorTypeForbidden, "spec.ports[0].nodePort"}},
		{"selector", func(s *corev1.ServiceSpec) { s.Selector = map[string]string{"app": "not valid"} },
			want{field.ErrorTypeInvalid, "spec.selector"}},
		{"affinity", func(s *corev1.ServiceSpec) { s.SessionAffinity = "Cookie" }, want{field.ErrorTypeNotSupported, "spec.sessionAffinity"}},
		{"cluster IP", func(s *corev1.ServiceSpec) { s.ClusterIp = "10.0.0.300"; s.ClusterIps = []string{s.ClusterIp} },
			want{field.ErrorTypeInvalid, "spec.clusterIP"}},
		{"external name missing", func(s *corev1.ServiceSpec) {
			*s = corev1.ServiceSpec{Type: "ExternalName", SessionAffinity: "None"}
		}, want{field.ErrorTypeRequired, "spec.externalName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validService()
			tt.change(s.Spec)
			expect(t, ValidateService(s), tt.want)
		})
	}
	headless := &corev1.Service{Spec: &corev1.ServiceSpec{ClusterIp: "None"}}
	defaults.Service(headless)
	expect(t, ValidateService(headless))

	old := validService()
	old.Spec.ClusterIp, old.Spec.ClusterIps = "10.0.0.1", []string{"10.0.0.1"}
	moved := proto.Clone(old).(*corev1.Service)
	moved.Spec.ClusterIp, moved.Spec.ClusterIps = "10.0.0.2", []string{"10.0.0.2"}
	expect(t, ValidateServiceUpdate(moved, old), want{field.ErrorTypeInvalid, "spec.clusterIP"})
	expect(t, ValidateServiceUpdate(old, old))
}

func TestValidateEndpoints(t *testing.T) {
	ep := &corev1.Endpoints{Subsets: []*corev1.EndpointSubset{{
		Addresses: []*corev1.EndpointAddress{{Ip: "10.1.2.3"}},
		Ports:     []*corev1.EndpointPort{{Name: "http", Port: 80, Protocol: "TCP"}}}}}
	expect(t, ValidateEndpoints(ep))
	bad := proto.Clone(ep).(*corev1.Endpoints)
	bad.Subsets[0].Addresses[0].Ip = "not-an-ip"
	bad.Subsets[0].Ports = append(bad.Subsets[0].Ports, &corev1.EndpointPort{Name: "http", Port: 70000, Protocol: "TCP"})
	expect(t, ValidateEndpoints(bad),
		want{field.ErrorTypeInvalid, "subsets[0].addresses[0].ip"},
		want{field.ErrorTypeDuplicate, "subsets[0].ports[1].name"},
		want{field.ErrorTypeInvalid, "subsets[0].ports[1].port"})
	empty := &corev1.Endpoints{Subsets: []*corev1.EndpointSubset{{}}}
	expect(t, ValidateEndpoints(empty), want{field.ErrorTypeRequired, "subsets[0]"})
}

func TestValidateConfigMapAndSecret(t *testing.T) {
	tests := []struct {
		name string
		errs field.ErrorList
		want []want
	}{
		{"valid config map", ValidateConfigMap(&corev1.ConfigMap{Data: map[string]string{"a.conf": "x"}}), nil},
		{"bad key", ValidateConfigMap(&corev1.ConfigMap{Data: map[string]string{"bad key": "x"}}),
			[]want{{field.ErrorTypeInvalid, "data[bad key]"}}},
		{"key in data and binaryData", ValidateConfigMap(&corev1.ConfigMap{Data: map[string]string{"a": "x"},
			BinaryData: map[string][]byte{"a": []byte("y")}}), []want{{field.ErrorTypeInvalid, "binaryData"}}},
		{"too big", ValidateConfigMap(&corev1.ConfigMap{Data: map[string]string{"a": strings.Repeat("x", maxDataBytes+1)}}),
			[]want{{field.ErrorTypeTooLong, ""}}},
		{"immutable data", ValidateConfigMapUpdate(
			&corev1.ConfigMap{Immutable: proto.Bool(true), Data: map[string]string{"a": "2"}},
			&corev1.ConfigMap{Immutable: proto.Bool(true), Data: map[string]string{"a": "1"}}),
			[]want{{field.ErrorTypeForbidden, "data"}}},
		{"immutable turned off", ValidateConfigMapUpdate(&corev1.ConfigMap{Immutable: proto.Bool(false)}, &corev1.ConfigMap{Immutable: proto.Bool(true)}),
			[]want{{field.ErrorTypeForbidden, "immutable"}}},
		{"mutable edit", ValidateConfigMapUpdate(&corev1.ConfigMap{Data: map[string]string{"a": "2"}}, &corev1.ConfigMap{Data: map[string]string{"a": "1"}}), nil},
		{"tls secret", ValidateSecret(&corev1.Secret{Type: "kubernetes.io/tls", Data: map[string][]byte{"tls.crt": nil}}),
			[]want{{field.ErrorTypeRequired, "data[tls.key]"}}},
		{"docker config", ValidateSecret(&corev1.Secret{Type: "kubernetes.io/dockerconfigjson",
			Data: map[string][]byte{".dockerconfigjson": []byte("{")}}), []want{{field.ErrorTypeInvalid, "data[.dockerconfigjson]"}}},
		{"secret key", ValidateSecret(&corev1.Secret{Type: "Opaque", Data: map[string][]byte{"a/b": nil}}),
			[]want{{field.ErrorTypeInvalid, "data[a/b]"}}},
		{"secret type change", ValidateSecretUpdate(&corev1.Secret{Type: "kubernetes.io/tls"}, &corev1.Secret{Type: "Opaque"}),
			[]want{{field.ErrorTypeInvalid, "type"}}},
		{"immutable secret", ValidateSecretUpdate(
			&corev1.Secret{Type: "Opaque", Immutable: proto.Bool(true), Data: map[string][]byte{"a": []byte("2")}},
			&corev1.Secret{Type: "Opaque", Immutable: proto.Bool(true), Data: map[string][]byte{"a": []byte("1")}}),
			[]want{{field.ErrorTypeForbidden, "data"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expect(t, tt.errs, tt.want...) })
	}
}

func TestValidateClusterKinds(t *testing.T) {
	ns := func(ns, objNS string) *corev1.Event {
		return &corev1.Event{Metadata: &metav1.ObjectMeta{Namespace: ns}, InvolvedObject: &corev1.ObjectReference{Namespace: objNS}}
	}
	newEvent := ns("default", "default")
	newEvent.EventTime = timestamppb.Now()
	tests := []struct {
		name string
		errs field.ErrorList
		want []want
	}{
		{"namespace finalizers", ValidateNamespace(&corev1.Namespace{Spec: &corev1.NamespaceSpec{Finalizers: []string{"kubernetes", "example.com/x"}}}), nil},
		{"unqualified finalizer", ValidateNamespace(&corev1.Namespace{Spec: &corev1.NamespaceSpec{Finalizers: []string{"mine"}}}),
			[]want{{field.ErrorTypeInvalid, "spec.finalizers"}}},
		{"taints", ValidateNode(&corev1.Node{Spec: &corev1.NodeSpec{Taints: []*corev1.Taint{
			{Key: "dedicated", Value: "gpu", Effect: "NoSchedule"},
			{Key: "dedicated", Value: "other", Effect: "NoSchedule"},
			{Key: "bad key!", Effect: "Sometimes"},
			{Key: "k"},
		}}}), []want{
			{field.ErrorTypeDuplicate, "spec.taints[1]"},
			{field.ErrorTypeInvalid, "spec.taints[2].key"},
			{field.ErrorTypeNotSupported, "spec.taints[2].effect"},
			{field.ErrorTypeRequired, "spec.taints[3].effect"},
		}},
		{"pod CIDR", ValidateNode(&corev1.Node{Spec: &corev1.NodeSpec{PodCidrs: []string{"10.0.0.0/33"}}}),
			[]want{{field.ErrorTypeInvalid, "spec.podCIDRs[0]"}}},
		{"event namespace", ValidateEvent(ns("default", "other")), []want{{field.ErrorTypeInvalid, "involvedObject.namespace"}}},
		{"event in its namespace", ValidateEvent(ns("team", "team")), nil},
		{"node event in default", ValidateEvent(ns("default", "")), nil},
		{"new event needs reporting fields", ValidateEvent(newEvent), []want{
			{field.ErrorTypeRequired, "reportingComponent"}, {field.ErrorTypeRequired, "action"}, {field.ErrorTypeRequired, "reason"}}},
		{"lease", ValidateLease(&coordinationv1.Lease{Spec: &coordinationv1.LeaseSpec{LeaseDurationSeconds: proto.Int32(15)}}), nil},
		{"lease duration", ValidateLease(&coordinationv1.Lease{Spec: &coordinationv1.LeaseSpec{
			LeaseDurationSeconds: proto.Int32(0), LeaseTransitions: proto.Int32(-1)}}),
			[]want{{field.ErrorTypeInvalid, "spec.leaseDurationSeconds"}, {field.ErrorTypeInvalid, "spec.leaseTransitions"}}},
		{"service account", ValidateServiceAccount(&corev1.ServiceAccount{}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expect(t, tt.errs, tt.want...) })
	}
}
