package endpoints

import (
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func pod(name, ip string, ready bool, port int32, labels map[string]string) *corev1.Pod {
	status := "False"
	if ready {
		status = "True"
	}
	node := "n1"
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "ns", Uid: name, Labels: labels},
		Spec: &corev1.PodSpec{NodeName: &node, Containers: []*corev1.Container{{Name: "c",
			Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}},
		Status: &corev1.PodStatus{Phase: "Running", PodIp: ip, Conditions: []*corev1.PodCondition{{Type: "Ready", Status: status}}}}
}

func TestSubsets(t *testing.T) {
	web := map[string]string{"app": "web"}
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: &corev1.ServiceSpec{
		Selector: web,
		Ports: []*corev1.ServicePort{{Name: "http", Port: 80, TargetPort: &metav1.IntOrString{Type: 1, StrVal: "http"}},
			{Name: "metrics", Port: 9090, TargetPort: &metav1.IntOrString{IntVal: 9100}}}}}
	gone := pod("gone", "10.0.0.9", true, 8080, web)
	gone.Metadata.DeletionTimestamp = timestamppb.Now()
	pods := []*corev1.Pod{
		pod("b", "10.0.0.2", true, 8080, web),
		pod("a", "10.0.0.1", true, 8080, web),
		pod("slow", "10.0.0.3", false, 8080, web),
		pod("other-port", "10.0.0.4", true, 9000, web),
		pod("no-ip", "", true, 8080, web),
		pod("db", "10.0.0.5", true, 8080, map[string]string{"app": "db"}),
		gone,
	}
	got := Subsets(svc, pods)
	if len(got) != 2 {
		t.Fatalf("%d subsets, want one per resolved port set: %v", len(got), got)
	}
	s := got[0]
	if len(s.GetAddresses()) != 2 || s.GetAddresses()[0].GetIp() != "10.0.0.1" || s.GetAddresses()[1].GetIp() != "10.0.0.2" {
		t.Fatalf("ready addresses %v", s.GetAddresses())
	}
	if len(s.GetNotReadyAddresses()) != 1 || s.GetNotReadyAddresses()[0].GetTargetRef().GetName() != "slow" {
		t.Fatalf("not-ready addresses %v", s.GetNotReadyAddresses())
	}
	if len(s.GetPorts()) != 2 || s.GetPorts()[0].GetPort() != 8080 || s.GetPorts()[1].GetPort() != 9100 || s.GetPorts()[0].GetProtocol() != "TCP" {
		t.Fatalf("ports %v", s.GetPorts())
	}
	if got[1].GetPorts()[0].GetPort() != 9000 || got[1].GetAddresses()[0].GetIp() != "10.0.0.4" {
		t.Fatalf("second subset %v", got[1])
	}
	// Publishing addresses that are not ready takes in the slow pod and
	// the terminating one too, as ready addresses.
	svc.Spec.PublishNotReadyAddresses = true
	if s := Subsets(svc, pods)[0]; len(s.GetAddresses()) != 4 || len(s.GetNotReadyAddresses()) != 0 {
		t.Fatalf("publishNotReadyAddresses: got %v, want 4 ready addresses and none not ready", s)
	}
	svc.Spec.Selector = nil
	if len(Subsets(svc, pods)) != 0 {
		t.Fatal("a service without a selector selected pods")
	}
}

// TestHostname: an address carries its pod's hostname only when the pod's
// subdomain names the Service, as Kubernetes' controller sets it.
func TestHostname(t *testing.T) {
	web := map[string]string{"app": "web"}
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: &corev1.ServiceSpec{
		ClusterIp: "None", Selector: web}}
	named := func(name, ip, hostname, subdomain string) *corev1.Pod {
		p := pod(name, ip, true, 8080, web)
		p.Spec.Hostname, p.Spec.Subdomain = &hostname, &subdomain
		return p
	}
	pods := []*corev1.Pod{
		named("web-0", "10.0.0.1", "web-0", "web"),
		named("web-1", "10.0.0.2", "web-1", "other"),
		named("web-2", "10.0.0.3", "", "web"),
	}
	got := Subsets(svc, pods)
	if len(got) != 1 || len(got[0].GetAddresses()) != 3 {
		t.Fatalf("got subsets %v, want one of three addresses", got)
	}
	for i, want := range []string{"web-0", "", ""} {
		if h := got[0].GetAddresses()[i].GetHostname(); h != want {
			t.Errorf("address %s: got hostname %q, want %q", got[0].GetAddresses()[i].GetIp(), h, want)
		}
	}
	other := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "elsewhere"}}
	if h := Hostname(other, pods[0]); h != "" {
		t.Errorf("a Service of another namespace: got hostname %q, want none", h)
	}
}

func TestManages(t *testing.T) {
	sel := map[string]string{"app": "web"}
	for _, tc := range []struct {
		spec *corev1.ServiceSpec
		want bool
	}{
		{&corev1.ServiceSpec{Selector: sel}, true},
		{&corev1.ServiceSpec{Selector: sel, ClusterIp: "None"}, true},
		{&corev1.ServiceSpec{ClusterIp: "None"}, false},
		{&corev1.ServiceSpec{Selector: sel, Type: "ExternalName", ExternalName: "example.com"}, false},
	} {
		if got := Manages(&corev1.Service{Spec: tc.spec}); got != tc.want {
			t.Errorf("spec %v: got %v, want %v", tc.spec, got, tc.want)
		}
	}
}
