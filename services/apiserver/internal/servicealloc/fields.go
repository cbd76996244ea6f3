// Package servicealloc gives Services their cluster IPs and node ports:
// a wrapper of the services backend that allocates on create and update
// and releases on update and delete, and a repair loop that keeps the
// allocators equal to what the stored Services use.
package servicealloc

import (
	"net/netip"
	"slices"

	corev1 "skiff.dev/api/core/v1"
)

// needsClusterIP: every Service but a headless or ExternalName one.
func needsClusterIP(s *corev1.Service) bool {
	t := s.GetSpec().GetType()
	return t != "ExternalName" && s.GetSpec().GetClusterIp() != "None"
}

// needsNodePorts: NodePort Services, and LoadBalancers that did not opt out.
func needsNodePorts(s *corev1.Service) bool {
	switch s.GetSpec().GetType() {
	case "NodePort":
		return true
	case "LoadBalancer":
		return s.GetSpec().AllocateLoadBalancerNodePorts == nil || s.GetSpec().GetAllocateLoadBalancerNodePorts()
	}
	return false
}

// clusterIP is the allocated IPv4 address of s, the zero Addr when it has
// none.
func clusterIP(s *corev1.Service) netip.Addr {
	if s == nil || !needsClusterIP(s) {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(s.GetSpec().GetClusterIp())
	if err != nil || !ip.Is4() {
		return netip.Addr{}
	}
	return ip
}

// nodePorts are the node ports s holds (a port number appears once even
// when TCP and UDP share it).
func nodePorts(s *corev1.Service) []int {
	if s == nil {
		return nil
	}
	var out []int
	seen := map[int]bool{}
	for _, p := range s.GetSpec().GetPorts() {
		if n := int(p.GetNodePort()); n != 0 && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// dropTypeDependentFields clears, when the type changes, the fields the
// new type may not have and the client left as they were: the cluster
// IPs of a Service becoming ExternalName, the node ports of one that no
// longer needs them, the external traffic policy of one no longer
// reachable from outside. Kubernetes does the same, so that
// `kubectl patch -p '{"spec":{"type":"ClusterIP"}}'` works.
func dropTypeDependentFields(s, old *corev1.Service) {
	sp, op := s.GetSpec(), old.GetSpec()
	if sp == nil || op == nil {
		return
	}
	if sp.GetType() == "ExternalName" && op.GetType() != "ExternalName" {
		if sp.GetClusterIp() == op.GetClusterIp() {
			sp.ClusterIp = ""
		}
		if slices.Equal(sp.GetClusterIps(), op.GetClusterIps()) {
			sp.ClusterIps = nil
		}
		if slices.Equal(sp.GetIpFamilies(), op.GetIpFamilies()) {
			sp.IpFamilies = nil
		}
		if sp.GetIpFamilyPolicy() == op.GetIpFamilyPolicy() {
			sp.IpFamilyPolicy = nil
		}
		if sp.GetInternalTrafficPolicy() == op.GetInternalTrafficPolicy() {
			sp.InternalTrafficPolicy = nil
		}
	}
	if needsNodePorts(old) && !needsNodePorts(s) {
		oldPorts := map[string]int32{}
		for _, p := range op.GetPorts() {
			oldPorts[p.GetName()] = p.GetNodePort()
		}
		for _, p := range sp.GetPorts() {
			if p.GetNodePort() != 0 && oldPorts[p.GetName()] == p.GetNodePort() {
				p.NodePort = 0
			}
		}
	}
	external := func(s *corev1.ServiceSpec) bool {
		t := s.GetType()
		return t == "NodePort" || t == "LoadBalancer" || t == "ClusterIP" && len(s.GetExternalIps()) > 0
	}
	if external(op) && !external(sp) && sp.GetExternalTrafficPolicy() == op.GetExternalTrafficPolicy() {
		sp.ExternalTrafficPolicy = ""
	}
	if op.GetType() == "LoadBalancer" && sp.GetType() != "LoadBalancer" {
		if sp.AllocateLoadBalancerNodePorts != nil && op.AllocateLoadBalancerNodePorts != nil && sp.GetAllocateLoadBalancerNodePorts() == op.GetAllocateLoadBalancerNodePorts() {
			sp.AllocateLoadBalancerNodePorts = nil
		}
	}
}

// patchAllocatedValues carries the cluster IP and node ports of old into
// an update that left them out (a replace from a file written before they
// were allocated), as Kubernetes does.
func patchAllocatedValues(s, old *corev1.Service) {
	sp, op := s.GetSpec(), old.GetSpec()
	if sp == nil || op == nil {
		return
	}
	if needsClusterIP(s) && needsClusterIP(old) && sp.GetClusterIp() == "" && op.GetClusterIp() != "" {
		sp.ClusterIp = op.GetClusterIp()
		if len(sp.ClusterIps) == 0 {
			sp.ClusterIps = append([]string(nil), op.GetClusterIps()...)
		}
	}
	if !needsNodePorts(s) || !needsNodePorts(old) {
		return
	}
	used := map[int32]bool{}
	for _, p := range sp.GetPorts() {
		used[p.GetNodePort()] = true
	}
	byName := map[string]int32{}
	for _, p := range op.GetPorts() {
		byName[p.GetName()] = p.GetNodePort()
	}
	for _, p := range sp.GetPorts() {
		if n := byName[p.GetName()]; p.GetNodePort() == 0 && n != 0 && !used[n] {
			p.NodePort = n
			used[n] = true
		}
	}
}
