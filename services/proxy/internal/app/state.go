package app

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	"skiff.dev/services/proxy/internal/model"
)

// Labels and values the proxy reads.
const (
	labelServiceName      = "kubernetes.io/service-name"
	labelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	labelHeadless         = "service.kubernetes.io/headless"
	annotationTriggerTime = "endpoints.kubernetes.io/last-change-trigger-time"
)

// buildState reduces the cached Services and EndpointSlices to what the
// rules need. It skips, as kube-proxy does, headless and ExternalName
// Services, Services another proxy owns, and ports it cannot program (a
// bad one is logged and left out rather than stopping every sync).
func buildState(log *slog.Logger, services []*corev1.Service, slices []*discoveryv1.EndpointSlice) model.State {
	st := model.State{Endpoints: map[model.ServicePortName][]model.Endpoint{}}
	for _, svc := range services {
		st.Services = append(st.Services, servicePorts(log, svc)...)
	}
	wanted := make(map[model.ServicePortName]bool, len(st.Services))
	for _, sp := range st.Services {
		wanted[sp.ServicePortName] = true
	}
	seen := map[model.ServicePortName]map[string]bool{}
	for _, es := range slices {
		if es.GetAddressType() != "IPv4" {
			continue
		}
		meta := es.GetMetadata()
		svcName := meta.GetLabels()[labelServiceName]
		if svcName == "" || meta.GetDeletionTimestamp() != nil {
			continue
		}
		for _, p := range es.GetPorts() {
			name := model.ServicePortName{Namespace: meta.GetNamespace(), Name: svcName, PortName: p.GetName(), Protocol: protocol(p.GetProtocol())}
			if !wanted[name] || p.Port == nil {
				continue
			}
			for _, ep := range es.GetEndpoints() {
				e, ok := endpoint(ep, int(p.GetPort()))
				if !ok {
					continue
				}
				key := e.IP
				if seen[name] == nil {
					seen[name] = map[string]bool{}
				}
				// The same address in two slices (a pod moving between
				// them) counts once.
				if seen[name][key] {
					continue
				}
				seen[name][key] = true
				st.Endpoints[name] = append(st.Endpoints[name], e)
			}
		}
	}
	return st
}

func protocol(p string) model.Protocol {
	if p == "" {
		return model.TCP
	}
	return model.Protocol(strings.ToLower(p))
}

// endpoint reads one slice endpoint; a nil ready or serving condition means
// true, as the EndpointSlice API says.
func endpoint(ep *discoveryv1.Endpoint, port int) (model.Endpoint, bool) {
	if len(ep.GetAddresses()) == 0 {
		return model.Endpoint{}, false
	}
	c := ep.GetConditions()
	ready := c == nil || c.Ready == nil || c.GetReady()
	serving := ready
	if c != nil && c.Serving != nil {
		serving = c.GetServing()
	}
	e := model.Endpoint{
		IP:          ep.GetAddresses()[0],
		Port:        port,
		Ready:       ready,
		Serving:     serving,
		Terminating: c != nil && c.GetTerminating(),
		NodeName:    ep.GetNodeName(),
	}
	if e.Validate() != nil {
		return model.Endpoint{}, false
	}
	return e, true
}

func servicePorts(log *slog.Logger, svc *corev1.Service) []model.ServicePort {
	meta, spec := svc.GetMetadata(), svc.GetSpec()
	if meta.GetLabels()[labelServiceProxyName] != "" || meta.GetLabels()[labelHeadless] != "" {
		return nil
	}
	if spec.GetType() == "ExternalName" || spec.GetClusterIp() == "None" {
		return nil
	}
	clusterIP := spec.GetClusterIp()
	if a, err := netip.ParseAddr(clusterIP); err != nil || !a.Is4() {
		clusterIP = "" // IPv6-only or not yet allocated: no ClusterIP rules
	}
	var external []string
	for _, ing := range svc.GetStatus().GetLoadBalancer().GetIngress() {
		if ing.GetIp() != "" && ing.GetIpMode() != "Proxy" {
			external = append(external, ing.GetIp())
		}
	}
	external = append(external, spec.GetExternalIps()...)
	var affinity time.Duration
	if spec.GetSessionAffinity() == "ClientIP" {
		affinity = 3 * time.Hour // Kubernetes' default timeout
		if c := spec.GetSessionAffinityConfig().GetClientIp(); c != nil && c.TimeoutSeconds != nil {
			affinity = time.Duration(c.GetTimeoutSeconds()) * time.Second
		}
	}
	var out []model.ServicePort
	for _, p := range spec.GetPorts() {
		sp := model.ServicePort{
			ServicePortName:            model.ServicePortName{Namespace: meta.GetNamespace(), Name: meta.GetName(), PortName: p.GetName(), Protocol: protocol(p.GetProtocol())},
			ClusterIP:                  clusterIP,
			Port:                       int(p.GetPort()),
			NodePort:                   int(p.GetNodePort()),
			ExternalTrafficPolicyLocal: spec.GetExternalTrafficPolicy() == "Local",
			SessionAffinityTimeout:     affinity,
		}
		for _, ip := range external {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
				sp.LoadBalancerIPs = append(sp.LoadBalancerIPs, ip)
			}
		}
		if err := sp.Validate(); err != nil {
			log.Warn("service port left out of the rules", "service", meta.GetNamespace()+"/"+meta.GetName(), "err", err)
			continue
		}
		out = append(out, sp)
	}
	return out
}
