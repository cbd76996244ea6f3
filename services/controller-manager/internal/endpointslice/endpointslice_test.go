package endpointslice

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func pod(i int, ready bool) *corev1.Pod {
	status := "False"
	if ready {
		status = "True"
	}
	node := "n1"
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("p%03d", i), Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Spec: &corev1.PodSpec{NodeName: &node, Containers: []*corev1.Container{{Name: "c",
			Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		Status: &corev1.PodStatus{Phase: "Running", PodIp: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1),
			Conditions: []*corev1.PodCondition{{Type: "Ready", Status: status}}}}
}

func TestDesired(t *testing.T) {
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: &corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports:    []*corev1.ServicePort{{Name: "http", Port: 80, TargetPort: &metav1.IntOrString{Type: 1, StrVal: "http"}}}}}
	var pods []*corev1.Pod
	for i := 0; i < 250; i++ {
		pods = append(pods, pod(i, i%10 != 0))
	}
	leaving := pod(900, true)
	leaving.Metadata.DeletionTimestamp = timestamppb.Now()
	ipv6 := pod(901, true)
	ipv6.Status.PodIp = "fd00::1"
	pods = append(pods, leaving, ipv6)

	groups := Desired(svc, pods, func(string) string { return "zone-a" })
	if len(groups) != 1 || len(groups[0].endpoints) != 251 {
		t.Fatalf("groups %d, endpoints %d; want one group of 251 (the IPv6 pod left out)", len(groups), len(groups[0].endpoints))
	}
	if p := groups[0].ports; len(p) != 1 || p[0].GetPort() != 8080 || p[0].GetName() != "http" || p[0].GetProtocol() != "TCP" {
		t.Fatalf("ports %v", p)
	}
	var ready, terminating int
	for _, e := range groups[0].endpoints {
		if e.GetConditions().GetReady() {
			ready++
		}
		if e.GetConditions().GetTerminating() {
			terminating++
			if e.GetConditions().GetReady() || !e.GetConditions().GetServing() {
				t.Fatalf("a terminating ready pod: %v", e.GetConditions())
			}
		}
		if e.GetZone() != "zone-a" || e.GetNodeName() != "n1" {
			t.Fatalf("topology %v", e)
		}
	}
	if ready != 225 || terminating != 1 {
		t.Fatalf("ready %d, terminating %d", ready, terminating)
	}
	chunks := chunk(groups[0].endpoints)
	if len(chunks) != 3 || len(chunks[0]) != 100 || len(chunks[2]) != 51 {
		t.Fatalf("chunks of %d, %d, ...", len(chunks[0]), len(chunks))
	}
	if c := chunk(nil); len(c) != 1 || len(c[0]) != 0 {
		t.Fatal("no endpoints should still make one empty slice")
	}
}

// TestDesiredHeadless: a headless Service's endpoints carry the hostnames
// of the pods whose subdomain names it, and with publishNotReadyAddresses
// every pod is ready; its slices are labelled headless.
func TestDesiredHeadless(t *testing.T) {
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "ns", Labels: map[string]string{"tier": "front"}},
		Spec: &corev1.ServiceSpec{ClusterIp: "None", Selector: map[string]string{"app": "web"}, PublishNotReadyAddresses: true}}
	var pods []*corev1.Pod
	for i, sub := range []string{"web", "web", "db"} {
		p := pod(i, i == 0)
		host, sub := fmt.Sprintf("web-%d", i), sub
		p.Spec.Hostname, p.Spec.Subdomain = &host, &sub
		pods = append(pods, p)
	}
	groups := Desired(svc, pods, func(string) string { return "" })
	if len(groups) != 1 || len(groups[0].endpoints) != 3 {
		t.Fatalf("got %d groups, want one of three endpoints", len(groups))
	}
	for i, want := range []string{"web-0", "web-1", ""} {
		e := groups[0].endpoints[i]
		if e.GetHostname() != want {
			t.Errorf("endpoint %v: got hostname %q, want %q", e.GetAddresses(), e.GetHostname(), want)
		}
		if !e.GetConditions().GetReady() || e.GetConditions().GetServing() != (i == 0) {
			t.Errorf("endpoint %v: got conditions %v, want ready, serving only when the pod is", e.GetAddresses(), e.GetConditions())
		}
	}
	labels := Labels(svc)
	for k, want := range map[string]string{"tier": "front", LabelServiceName: "web", LabelManagedBy: ManagedBy, LabelHeadless: ""} {
		if got, ok := labels[k]; !ok || got != want {
			t.Errorf("label %s: got %q (%v), want %q", k, got, ok, want)
		}
	}
	svc.Spec.ClusterIp = "10.96.0.20"
	if _, ok := Labels(svc)[LabelHeadless]; ok {
		t.Errorf("a Service with a cluster IP: got label %s", LabelHeadless)
	}
}
