package netpol

import (
	"net/netip"
	"strings"

	corev1 "skiff.dev/api/core/v1"
	networkingv1 "skiff.dev/api/networking/v1"
)

// labelNamespaceName is the label Kubernetes gives every namespace, its
// name, so namespaceSelectors can pick namespaces by name.
const labelNamespaceName = "kubernetes.io/metadata.name"

// Pod is what enforcement needs of a pod: where it runs, its address,
// its labels and its named container ports.
type Pod struct {
	Namespace, Name string
	Node            string
	IP              string
	Labels          map[string]string
	Ports           []NamedPort
}

// NamedPort is a container port with a name, for policies that name ports.
type NamedPort struct {
	Name     string
	Protocol string // "TCP", "UDP" or "SCTP"
	Port     int32
}

// State is the cluster as enforcement sees it.
type State struct {
	Pods []Pod
	// Namespaces are each namespace's labels, by name.
	Namespaces map[string]map[string]string
	Policies   []*networkingv1.NetworkPolicy
}

// PodFrom returns the part of p that enforcement uses, and false for pods
// policies do not apply to: host-network pods (their address is the
// node's), pods without an IPv4 address yet, and finished pods (their
// address may already be another pod's).
func PodFrom(p *corev1.Pod) (Pod, bool) {
	if p.GetSpec().GetHostNetwork() {
		return Pod{}, false
	}
	switch p.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return Pod{}, false
	}
	ip, err := netip.ParseAddr(p.GetStatus().GetPodIp())
	if err != nil || !ip.Is4() {
		return Pod{}, false
	}
	out := Pod{
		Namespace: p.GetMetadata().GetNamespace(), Name: p.GetMetadata().GetName(),
		Node: p.GetSpec().GetNodeName(), IP: ip.String(), Labels: p.GetMetadata().GetLabels(),
	}
	for _, c := range append(p.GetSpec().GetInitContainers(), p.GetSpec().GetContainers()...) {
		for _, port := range c.GetPorts() {
			if port.GetName() != "" {
				out.Ports = append(out.Ports, NamedPort{Name: port.GetName(), Protocol: protocolOr(port.GetProtocol()), Port: port.GetContainerPort()})
			}
		}
	}
	return out, true
}

// NamespaceLabels returns a namespace's labels with its name label, which
// Kubernetes' apiserver always sets, filled in if missing.
func NamespaceLabels(ns *corev1.Namespace) map[string]string {
	out := make(map[string]string, len(ns.GetMetadata().GetLabels())+1)
	for k, v := range ns.GetMetadata().GetLabels() {
		out[k] = v
	}
	out[labelNamespaceName] = ns.GetMetadata().GetName()
	return out
}

// protocolOr is the protocol, TCP when unset, as Kubernetes defaults it.
func protocolOr(p string) string {
	if p == "" {
		return "TCP"
	}
	return strings.ToUpper(p)
}

func (p Pod) key() string { return p.Namespace + "/" + p.Name }
