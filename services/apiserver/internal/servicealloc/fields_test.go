package servicealloc

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
)

func svc(typ, ip string, nodePorts ...int32) *corev1.Service {
	s := &corev1.Service{Spec: &corev1.ServiceSpec{Type: typ, ClusterIp: ip, ExternalTrafficPolicy: "Cluster"}}
	if ip != "" && ip != "None" {
		s.Spec.ClusterIps, s.Spec.IpFamilies, s.Spec.IpFamilyPolicy = []string{ip}, []string{"IPv4"}, proto.String("SingleStack")
	}
	for i, n := range nodePorts {
		s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Name: string(rune('a' + i)), Port: 80 + int32(i), NodePort: n})
	}
	return s
}

func TestNeeds(t *testing.T) {
	lbNoPorts := svc("LoadBalancer", "")
	lbNoPorts.Spec.AllocateLoadBalancerNodePorts = proto.Bool(false)
	for _, tc := range []struct {
		name      string
		s         *corev1.Service
		ip, ports bool
	}{
		{"ClusterIP", svc("ClusterIP", ""), true, false},
		{"headless", svc("ClusterIP", "None"), false, false},
		{"ExternalName", svc("ExternalName", ""), false, false},
		{"NodePort", svc("NodePort", ""), true, true},
		{"LoadBalancer", svc("LoadBalancer", ""), true, true},
		{"LoadBalancer without node ports", lbNoPorts, true, false},
	} {
		if ip, ports := needsClusterIP(tc.s), needsNodePorts(tc.s); ip != tc.ip || ports != tc.ports {
			t.Errorf("%s: got ip=%v ports=%v, want %v %v", tc.name, ip, ports, tc.ip, tc.ports)
		}
	}
}

func TestDropTypeDependentFields(t *testing.T) {
	old := svc("NodePort", "10.96.0.5", 30001, 30002)
	s := proto.Clone(old).(*corev1.Service)
	s.Spec.Type = "ClusterIP"
	s.Spec.Ports[1].NodePort = 30009 // changed by the client: kept, for validation to refuse
	dropTypeDependentFields(s, old)
	if got := s.Spec.Ports[0].NodePort; got != 0 {
		t.Errorf("unchanged node port: got %d, want dropped", got)
	}
	if got := s.Spec.Ports[1].NodePort; got != 30009 {
		t.Errorf("changed node port: got %d, want 30009 kept", got)
	}
	if s.Spec.ExternalTrafficPolicy != "" {
		t.Errorf("externalTrafficPolicy: got %q, want dropped", s.Spec.ExternalTrafficPolicy)
	}

	s = proto.Clone(old).(*corev1.Service)
	s.Spec.Type, s.Spec.ExternalName = "ExternalName", "example.com"
	dropTypeDependentFields(s, old)
	if s.Spec.ClusterIp != "" || len(s.Spec.ClusterIps) != 0 || len(s.Spec.IpFamilies) != 0 || s.Spec.IpFamilyPolicy != nil {
		t.Errorf("to ExternalName: got %v, want the cluster IP fields dropped", s.Spec)
	}
}

func TestPatchAllocatedValues(t *testing.T) {
	old := svc("NodePort", "10.96.0.5", 30001, 30002)
	s := svc("NodePort", "", 0, 0)
	s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Name: "new", Port: 90})
	patchAllocatedValues(s, old)
	if s.Spec.ClusterIp != "10.96.0.5" || len(s.Spec.ClusterIps) != 1 {
		t.Errorf("clusterIP: got %q %v, want 10.96.0.5 carried over", s.Spec.ClusterIp, s.Spec.ClusterIps)
	}
	got := []int32{s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort, s.Spec.Ports[2].NodePort}
	if got[0] != 30001 || got[1] != 30002 || got[2] != 0 {
		t.Errorf("node ports: got %v, want [30001 30002 0]", got)
	}
}

func TestDropped(t *testing.T) {
	old := svc("NodePort", "10.96.0.5", 30001, 30002)
	now := svc("NodePort", "10.96.0.5", 30001)
	if d := dropped(old, now); d.ip.IsValid() || len(d.ports) != 1 || d.ports[0] != 30002 {
		t.Errorf("port removed: got %+v, want port 30002", d)
	}
	if d := dropped(old, svc("ExternalName", "")); d.ip.String() != "10.96.0.5" || len(d.ports) != 2 {
		t.Errorf("to ExternalName: got %+v, want the IP and both ports", d)
	}
}
