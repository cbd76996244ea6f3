package pods

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "skiff.dev/api/core/v1"
)

// Services lists the Services whose addresses pods see in their
// environment.
type Services interface {
	// Services returns the Services of a namespace.
	Services(namespace string) []*corev1.Service
}

// serviceEnv is the Docker-links-style variables Kubernetes gives a
// container for each Service of its namespace (when enableServiceLinks is
// not false) and for the apiserver's `kubernetes` Service in default:
// FOO_SERVICE_HOST, FOO_SERVICE_PORT, FOO_PORT_80_TCP_ADDR and so on.
func serviceEnv(pod *corev1.Pod, svcs Services) [][2]string {
	if svcs == nil {
		return nil
	}
	ns := pod.GetMetadata().GetNamespace()
	byName := map[string]*corev1.Service{}
	if pod.GetSpec().EnableServiceLinks == nil || pod.GetSpec().GetEnableServiceLinks() {
		for _, s := range svcs.Services(ns) {
			byName[s.GetMetadata().GetName()] = s
		}
	}
	if ns != "default" {
		for _, s := range svcs.Services("default") {
			if s.GetMetadata().GetName() == "kubernetes" {
				byName["kubernetes"] = s
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	var out [][2]string
	for _, n := range names {
		out = append(out, linkVars(byName[n])...)
	}
	return out
}

func linkVars(s *corev1.Service) [][2]string {
	ip := s.GetSpec().GetClusterIp()
	ports := s.GetSpec().GetPorts()
	if ip == "" || ip == "None" || len(ports) == 0 {
		return nil
	}
	name := strings.ToUpper(strings.ReplaceAll(s.GetMetadata().GetName(), "-", "_"))
	first := ports[0]
	out := [][2]string{
		{name + "_SERVICE_HOST", ip},
		{name + "_SERVICE_PORT", strconv.Itoa(int(first.GetPort()))},
	}
	for _, p := range ports {
		if p.GetName() != "" {
			out = append(out, [2]string{name + "_SERVICE_PORT_" + strings.ToUpper(strings.ReplaceAll(p.GetName(), "-", "_")), strconv.Itoa(int(p.GetPort()))})
		}
	}
	proto := func(p *corev1.ServicePort) string {
		if p.GetProtocol() == "" {
			return "tcp"
		}
		return strings.ToLower(p.GetProtocol())
	}
	out = append(out, [2]string{name + "_PORT", fmt.Sprintf("%s://%s:%d", proto(first), ip, first.GetPort())})
	for _, p := range ports {
		prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.GetPort(), strings.ToUpper(proto(p)))
		out = append(out,
			[2]string{prefix, fmt.Sprintf("%s://%s:%d", proto(p), ip, p.GetPort())},
			[2]string{prefix + "_PROTO", proto(p)},
			[2]string{prefix + "_PORT", strconv.Itoa(int(p.GetPort()))},
			[2]string{prefix + "_ADDR", ip})
	}
	return out
}
