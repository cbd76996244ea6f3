package app

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/proxy/internal/model"
)

func svc(name string, mutate func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: &corev1.ServiceSpec{
			Type:      "ClusterIP",
			ClusterIp: "10.96.0.10",
			Ports:     []*corev1.ServicePort{{Name: "http", Protocol: "TCP", Port: 80}},
		},
	}
	if mutate != nil {
		mutate(s)
	}
	return s
}

func slice(service string, port string, eps ...*discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		Metadata:    &metav1.ObjectMeta{Namespace: "default", Name: service + "-" + port, Labels: map[string]string{labelServiceName: service}},
		AddressType: "IPv4",
		Ports:       []*discoveryv1.EndpointPort{{Name: proto.String(port), Protocol: proto.String("TCP"), Port: proto.Int32(8080)}},
		Endpoints:   eps,
	}
}

func ep(ip string, ready *bool) *discoveryv1.Endpoint {
	e := &discoveryv1.Endpoint{Addresses: []string{ip}, NodeName: proto.String("node-a")}
	if ready != nil {
		e.Conditions = &discoveryv1.EndpointConditions{Ready: ready, Serving: ready, Terminating: proto.Bool(false)}
	}
	return e
}

func TestBuildStateServices(t *testing.T) {
	services := []*corev1.Service{
		svc("plain", nil),
		svc("headless", func(s *corev1.Service) { s.Spec.ClusterIp = "None" }),
		svc("external-name", func(s *corev1.Service) { s.Spec.Type = "ExternalName"; s.Spec.ClusterIp = "" }),
		svc("other-proxy", func(s *corev1.Service) { s.Metadata.Labels = map[string]string{labelServiceProxyName: "x"} }),
		svc("lb", func(s *corev1.Service) {
			s.Spec.Type = "LoadBalancer"
			s.Spec.Ports[0].NodePort = 30080
			s.Spec.ExternalTrafficPolicy = "Local"
			s.Spec.ExternalIps = []string{"198.51.100.4", "fd00::4"}
			s.Status = &corev1.ServiceStatus{LoadBalancer: &corev1.LoadBalancerStatus{Ingress: []*corev1.LoadBalancerIngress{{Ip: "203.0.113.10"}, {Hostname: "lb.example"}}}}
		}),
		svc("sticky", func(s *corev1.Service) { s.Spec.SessionAffinity = "ClientIP" }),
		svc("sticky-short", func(s *corev1.Service) {
			s.Spec.SessionAffinity = "ClientIP"
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIp: &corev1.ClientIPConfig{TimeoutSeconds: proto.Int32(60)}}
		}),
		svc("bad-port", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Name: "zero", Port: 0})
		}),
	}
	st := buildState(slog.Default(), services, nil)
	got := map[string]model.ServicePort{}
	for _, sp := range st.Services {
		got[sp.Name+"/"+sp.PortName] = sp
	}
	for _, skipped := range []string{"headless/http", "external-name/http", "other-proxy/http", "bad-port/zero"} {
		if _, ok := got[skipped]; ok {
			t.Errorf("got port %s in the state, want it skipped", skipped)
		}
	}
	if _, ok := got["bad-port/http"]; !ok {
		t.Errorf("a bad port dropped its Service's good one")
	}
	lb := got["lb/http"]
	if want := []string{"203.0.113.10", "198.51.100.4"}; !slices.Equal(lb.LoadBalancerIPs, want) || lb.NodePort != 30080 || !lb.ExternalTrafficPolicyLocal {
		t.Errorf("lb: got %+v, want external IPs %v, node port 30080, policy Local", lb, want)
	}
	if d := got["sticky/http"].SessionAffinityTimeout; d != 3*time.Hour {
		t.Errorf("sticky: got affinity timeout %v, want Kubernetes' default 3h", d)
	}
	if d := got["sticky-short/http"].SessionAffinityTimeout; d != time.Minute {
		t.Errorf("sticky-short: got affinity timeout %v, want 1m", d)
	}
	if got["plain/http"].Protocol != model.TCP {
		t.Errorf("got protocol %q, want tcp", got["plain/http"].Protocol)
	}
}

func TestBuildStateEndpoints(t *testing.T) {
	services := []*corev1.Service{svc("web", nil)}
	v6 := slice("web", "http", ep("fd00::1", nil))
	v6.AddressType = "IPv6"
	st := buildState(slog.Default(), services, []*discoveryv1.EndpointSlice{
		slice("web", "http", ep("10.244.1.5", nil), ep("10.244.1.6", proto.Bool(false))),
		// The same address in a second slice (a pod moving) counts once.
		slice("web", "http", ep("10.244.1.5", proto.Bool(true))),
		slice("web", "metrics", ep("10.244.1.9", nil)), // a port the Service lacks
		slice("gone", "http", ep("10.244.1.8", nil)),   // a Service that does not exist
		v6,
	})
	name := model.ServicePortName{Namespace: "default", Name: "web", PortName: "http", Protocol: model.TCP}
	want := []model.Endpoint{
		{IP: "10.244.1.5", Port: 8080, Ready: true, Serving: true, NodeName: "node-a"},
		{IP: "10.244.1.6", Port: 8080, NodeName: "node-a"},
	}
	if got := st.Endpoints[name]; !slices.Equal(got, want) {
		t.Errorf("got endpoints %+v, want %+v", got, want)
	}
	if len(st.Endpoints) != 1 {
		t.Errorf("got endpoints for %d ports, want only web/http: %+v", len(st.Endpoints), st.Endpoints)
	}
}
