package defaults

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func quantities(kv ...string) map[string]*metav1.Quantity {
	m := map[string]*metav1.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
	}
	return m
}

// equal fails the test with both objects when they differ.
func equal(t *testing.T, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", prototext.Format(got), prototext.Format(want))
	}
}

func TestMinimalPod(t *testing.T) {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "nginx"}}}}
	Pod(p)
	want := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{
		Containers: []*corev1.Container{{Name: "c", Image: "nginx", ImagePullPolicy: "Always",
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
			Resources: &corev1.ResourceRequirements{}}},
		RestartPolicy:                 proto.String("Always"),
		DnsPolicy:                     proto.String("ClusterFirst"),
		SchedulerName:                 proto.String("default-scheduler"),
		TerminationGracePeriodSeconds: proto.Int64(30),
		SecurityContext:               &corev1.PodSecurityContext{},
		EnableServiceLinks:            proto.Bool(true),
		Tolerations: []*corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: proto.Int64(300)},
			{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: proto.Int64(300)},
		},
	}, Status: &corev1.PodStatus{Phase: "Pending", QosClass: "BestEffort"}}
	equal(t, p, want)

	again := proto.Clone(p).(*corev1.Pod)
	Pod(again)
	equal(t, again, p)
}

func TestPodDetails(t *testing.T) {
	tests := []struct {
		name  string
		spec  *corev1.PodSpec
		check func(*corev1.Pod) (got, want any)
	}{
		{"requests from limits, canonical", &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c",
			Resources: &corev1.ResourceRequirements{Limits: quantities("cpu", "1000m", "memory", "1.5Gi")}}}},
			func(p *corev1.Pod) (any, any) {
				r := p.Spec.Containers[0].Resources.Requests
				return r["cpu"].GetString_() + " " + r["memory"].GetString_(), "1 1536Mi"
			}},
		{"quantities round up to milli-units", &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c",
			Resources: &corev1.ResourceRequirements{Requests: quantities("cpu", "0.0001")}}}},
			func(p *corev1.Pod) (any, any) {
				return p.Spec.Containers[0].Resources.Requests["cpu"].GetString_(), "1m"
			}},
		{"guaranteed", &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c",
			Resources: &corev1.ResourceRequirements{Limits: quantities("cpu", "1", "memory", "1Gi")}}}},
			func(p *corev1.Pod) (any, any) { return p.Status.QosClass, "Guaranteed" }},
		{"burstable", &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c",
			Resources: &corev1.ResourceRequirements{Requests: quantities("memory", "1Gi")}}}},
			func(p *corev1.Pod) (any, any) { return p.Status.QosClass, "Burstable" }},
		{"zero requests are best effort", &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c",
			Resources: &corev1.ResourceRequirements{Requests: quantities("cpu", "0")}}}},
			func(p *corev1.Pod) (any, any) { return p.Status.QosClass, "BestEffort" }},
		{"host network ports", &corev1.PodSpec{HostNetwork: proto.Bool(true), Containers: []*corev1.Container{{Name: "c",
			Ports: []*corev1.ContainerPort{{ContainerPort: 8080}}}}},
			func(p *corev1.Pod) (any, any) { return p.Spec.Containers[0].Ports[0].HostPort, int32(8080) }},
		{"deprecated service account", &corev1.PodSpec{ServiceAccount: proto.String("builder")},
			func(p *corev1.Pod) (any, any) { return p.Spec.GetServiceAccountName(), "builder" }},
		{"volume without source", &corev1.PodSpec{Volumes: []*corev1.Volume{{Name: "v"}}},
			func(p *corev1.Pod) (any, any) { return p.Spec.Volumes[0].GetVolumeSource().GetEmptyDir() != nil, true }},
		{"config map mode", &corev1.PodSpec{Volumes: []*corev1.Volume{{Name: "v",
			VolumeSource: &corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}}},
			func(p *corev1.Pod) (any, any) {
				return p.Spec.Volumes[0].VolumeSource.ConfigMap.GetDefaultMode(), int32(0o644)
			}},
		{"http probe", &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", ReadinessProbe: &corev1.Probe{
			Handler: &corev1.ProbeHandler{HttpGet: &corev1.HTTPGetAction{Port: &metav1.IntOrString{IntVal: 80}}}}}}},
			func(p *corev1.Pod) (any, any) {
				pr := p.Spec.Containers[0].ReadinessProbe
				h := pr.Handler.HttpGet
				return []any{h.Path, h.Scheme, pr.TimeoutSeconds, pr.PeriodSeconds, pr.SuccessThreshold, pr.FailureThreshold},
					[]any{"/", "HTTP", int32(1), int32(10), int32(1), int32(3)}
			}},
		{"env field ref", &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Env: []*corev1.EnvVar{{Name: "N",
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}}},
			func(p *corev1.Pod) (any, any) { return p.Spec.Containers[0].Env[0].ValueFrom.FieldRef.ApiVersion, "v1" }},
		{"own not-ready toleration kept", &corev1.PodSpec{Tolerations: []*corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: proto.Int64(5)}}},
			func(p *corev1.Pod) (any, any) { return len(p.Spec.Tolerations), 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Pod{Spec: tt.spec}
			Pod(p)
			got, want := tt.check(p)
			if !equalAny(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func equalAny(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if !aok || !bok {
		return a == b
	}
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

func TestPullPolicy(t *testing.T) {
	for image, want := range map[string]string{
		"nginx": "Always", "nginx:latest": "Always", "nginx:1.27": "IfNotPresent",
		"localhost:5000/app": "Always", "localhost:5000/app:1": "IfNotPresent", "app@sha256:abc": "IfNotPresent",
	} {
		if got := PullPolicy(image); got != want {
			t.Errorf("%s: got %s, want %s", image, got, want)
		}
	}
}

func TestTemplateDefaultsAreNotPodDefaults(t *testing.T) {
	d := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{
		Containers: []*corev1.Container{{Name: "c", Image: "nginx:1.27", Resources: &corev1.ResourceRequirements{Limits: quantities("cpu", "1")}}}}}}}
	Deployment(d)
	s := d.Spec.Template.Spec
	if s.EnableServiceLinks != nil || s.ServiceAccountName != nil || s.Priority != nil || len(s.Tolerations) > 0 ||
		len(s.Containers[0].Resources.Requests) > 0 {
		t.Errorf("got pod-only defaults in a template: %v", prototext.Format(s))
	}
}

func TestDeployment(t *testing.T) {
	d := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{}}}}
	Deployment(d)
	want := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{
		Replicas: proto.Int32(1),
		Strategy: &appsv1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: &metav1.IntOrString{Type: 1, StrVal: "25%"}, MaxSurge: &metav1.IntOrString{Type: 1, StrVal: "25%"}}},
		RevisionHistoryLimit:    proto.Int32(10),
		ProgressDeadlineSeconds: proto.Int32(600),
		Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{
			RestartPolicy: proto.String("Always"), DnsPolicy: proto.String("ClusterFirst"),
			SchedulerName: proto.String("default-scheduler"), TerminationGracePeriodSeconds: proto.Int64(30),
			SecurityContext: &corev1.PodSecurityContext{}}},
	}}
	equal(t, d, want)

	recreate := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Strategy: &appsv1.DeploymentStrategy{Type: "Recreate"}}}
	Deployment(recreate)
	if recreate.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("got rollingUpdate %v for Recreate, want none", recreate.Spec.Strategy.RollingUpdate)
	}
	rs := &appsv1.ReplicaSet{}
	ReplicaSet(rs)
	if rs.Spec.GetReplicas() != 1 || rs.Spec.GetTemplate().GetSpec().GetRestartPolicy() != "Always" {
		t.Errorf("replicaset: got %v", prototext.Format(rs))
	}
}

func TestService(t *testing.T) {
	tests := []struct {
		name string
		spec *corev1.ServiceSpec
		want *corev1.ServiceSpec
	}{
		{"cluster IP", &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80}}, Selector: map[string]string{"app": "a"}},
			&corev1.ServiceSpec{Type: "ClusterIP", SessionAffinity: "None", Selector: map[string]string{"app": "a"},
				Ports:                 []*corev1.ServicePort{{Port: 80, Protocol: "TCP", TargetPort: &metav1.IntOrString{IntVal: 80}}},
				InternalTrafficPolicy: proto.String("Cluster"), IpFamilies: []string{"IPv4"}, IpFamilyPolicy: proto.String("SingleStack")}},
		{"load balancer", &corev1.ServiceSpec{Type: "LoadBalancer", SessionAffinity: "ClientIP",
			Ports: []*corev1.ServicePort{{Port: 443, TargetPort: &metav1.IntOrString{Type: 1, StrVal: "https"}}}},
			&corev1.ServiceSpec{Type: "LoadBalancer", SessionAffinity: "ClientIP",
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIp: &corev1.ClientIPConfig{TimeoutSeconds: proto.Int32(10800)}},
				Ports:                 []*corev1.ServicePort{{Port: 443, Protocol: "TCP", TargetPort: &metav1.IntOrString{Type: 1, StrVal: "https"}}},
				ExternalTrafficPolicy: "Cluster", AllocateLoadBalancerNodePorts: proto.Bool(true),
				InternalTrafficPolicy: proto.String("Cluster"), IpFamilies: []string{"IPv4"}, IpFamilyPolicy: proto.String("SingleStack")}},
		{"headless without selector", &corev1.ServiceSpec{ClusterIp: "None"},
			&corev1.ServiceSpec{Type: "ClusterIP", SessionAffinity: "None", ClusterIp: "None", ClusterIps: []string{"None"},
				InternalTrafficPolicy: proto.String("Cluster"), IpFamilies: []string{"IPv4"}, IpFamilyPolicy: proto.String("RequireDualStack")}},
		{"external name", &corev1.ServiceSpec{Type: "ExternalName", ExternalName: "example.com"},
			&corev1.ServiceSpec{Type: "ExternalName", ExternalName: "example.com", SessionAffinity: "None"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &corev1.Service{Spec: tt.spec}
			Service(s)
			equal(t, s.Spec, tt.want)
		})
	}
}

func TestOtherKinds(t *testing.T) {
	sec := &corev1.Secret{Data: map[string][]byte{"a": []byte("1")}, StringData: map[string]string{"a": "2", "b": "3"}}
	Secret(sec)
	equal(t, sec, &corev1.Secret{Type: "Opaque", Data: map[string][]byte{"a": []byte("2"), "b": []byte("3")}})

	ns := &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team"}}
	Namespace(ns)
	equal(t, ns, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team", Labels: map[string]string{"kubernetes.io/metadata.name": "team"}},
		Spec: &corev1.NamespaceSpec{Finalizers: []string{"kubernetes"}}, Status: &corev1.NamespaceStatus{Phase: "Active"}})

	node := &corev1.Node{Status: &corev1.NodeStatus{Capacity: quantities("cpu", "4000m")}}
	Node(node)
	if got := node.Status.Allocatable["cpu"].GetString_(); got != "4" {
		t.Errorf("node allocatable cpu: got %q, want %q", got, "4")
	}

	ep := &corev1.Endpoints{Subsets: []*corev1.EndpointSubset{{Ports: []*corev1.EndpointPort{{Port: 80}}}}}
	Endpoints(ep)
	if got := ep.Subsets[0].Ports[0].Protocol; got != "TCP" {
		t.Errorf("endpoints port protocol: got %q, want TCP", got)
	}
}

func TestCronJobDefaults(t *testing.T) {
	cj := &batchv1.CronJob{Spec: &batchv1.CronJobSpec{Schedule: "@hourly"}}
	CronJob(cj)
	sp := cj.GetSpec()
	if sp.GetConcurrencyPolicy() != "Allow" || sp.Suspend == nil || sp.GetSuspend() ||
		sp.GetSuccessfulJobsHistoryLimit() != 3 || sp.GetFailedJobsHistoryLimit() != 1 {
		t.Errorf("got concurrencyPolicy %q, suspend %v, history limits %d/%d; want Allow, false, 3/1",
			sp.GetConcurrencyPolicy(), sp.Suspend, sp.GetSuccessfulJobsHistoryLimit(), sp.GetFailedJobsHistoryLimit())
	}
	if got := sp.GetJobTemplate().GetSpec().GetTemplate().GetSpec().GetDnsPolicy(); got != "ClusterFirst" {
		t.Errorf("the job template's pod dnsPolicy = %q, want ClusterFirst", got)
	}
	kept := &batchv1.CronJob{Spec: &batchv1.CronJobSpec{ConcurrencyPolicy: "Forbid", Suspend: proto.Bool(true),
		SuccessfulJobsHistoryLimit: proto.Int32(0), FailedJobsHistoryLimit: proto.Int32(5)}}
	CronJob(kept)
	if sp := kept.Spec; sp.GetConcurrencyPolicy() != "Forbid" || !sp.GetSuspend() || sp.GetSuccessfulJobsHistoryLimit() != 0 || sp.GetFailedJobsHistoryLimit() != 5 {
		t.Errorf("values given were changed: %v", sp)
	}
}
