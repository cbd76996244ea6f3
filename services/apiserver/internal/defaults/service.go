package defaults

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// Service: type ClusterIP, no session affinity (ClientIP affinity lasts
// three hours), TCP ports whose target port is the port, Cluster traffic
// policies, node ports allocated for load balancers, and an IPv4 single
// stack (a headless service without a selector requires dual stack, as
// Kubernetes has it).
func Service(s *corev1.Service) {
	if s.Spec == nil {
		s.Spec = &corev1.ServiceSpec{}
	}
	sp := s.Spec
	if sp.Type == "" {
		sp.Type = "ClusterIP"
	}
	sessionAffinity(sp)
	for _, p := range sp.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		if tp := p.TargetPort; tp == nil || tp.GetType() == 0 && tp.GetIntVal() == 0 || tp.GetType() == 1 && tp.GetStrVal() == "" {
			p.TargetPort = &metav1.IntOrString{Type: 0, IntVal: p.Port}
		}
	}
	external := sp.Type == "NodePort" || sp.Type == "LoadBalancer" || sp.Type == "ClusterIP" && len(sp.ExternalIps) > 0
	if external && sp.ExternalTrafficPolicy == "" {
		sp.ExternalTrafficPolicy = "Cluster"
	}
	if sp.Type == "LoadBalancer" {
		if sp.AllocateLoadBalancerNodePorts == nil {
			sp.AllocateLoadBalancerNodePorts = proto.Bool(true)
		}
		for _, ing := range s.GetStatus().GetLoadBalancer().GetIngress() {
			if ing.Ip != "" && ing.IpMode == nil {
				ing.IpMode = proto.String("VIP")
			}
		}
	}
	if sp.Type == "ExternalName" {
		return
	}
	setString(&sp.InternalTrafficPolicy, "Cluster")
	if len(sp.IpFamilies) == 0 {
		sp.IpFamilies = []string{"IPv4"}
	}
	if sp.ClusterIp == "None" && len(sp.Selector) == 0 {
		setString(&sp.IpFamilyPolicy, "RequireDualStack")
	}
	setString(&sp.IpFamilyPolicy, "SingleStack")
	if sp.ClusterIp != "" && len(sp.ClusterIps) == 0 {
		sp.ClusterIps = []string{sp.ClusterIp}
	}
}

func sessionAffinity(sp *corev1.ServiceSpec) {
	switch sp.SessionAffinity {
	case "":
		sp.SessionAffinity = "None"
		sp.SessionAffinityConfig = nil
	case "None":
		sp.SessionAffinityConfig = nil
	case "ClientIP":
		if c := sp.GetSessionAffinityConfig().GetClientIp(); c == nil || c.TimeoutSeconds == nil {
			sp.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIp: &corev1.ClientIPConfig{TimeoutSeconds: proto.Int32(10800)}}
		}
	}
}
