package netpol

import (
	"log/slog"
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
	// Deleting is set once the pod has a deletionTimestamp; Running when
	// its phase is Running. They pick the pod an address belongs to when a
	// stale pod and its successor share one (see UniqueIPs).
	Deleting, Running bool
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
		Deleting: p.GetMetadata().GetDeletionTimestamp() != nil, Running: p.GetStatus().GetPhase() == "Running",
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

// UniqueIPs keeps one pod of each address, as the caches may briefly hold
// a pod being deleted and a new one that already got its address. The
// one kept is the pod not being deleted, then the running one, then the
// first by namespace and name; each collision is logged.
func UniqueIPs(pods []Pod, log *slog.Logger) []Pod {
	byIP := make(map[string]int, len(pods))
	out := make([]Pod, 0, len(pods))
	for _, p := range pods {
		i, seen := byIP[p.IP]
		if !seen {
			byIP[p.IP] = len(out)
			out = append(out, p)
			continue
		}
		keep, drop := out[i], p
		if preferred(p, keep) {
			keep, drop = p, keep
		}
		out[i] = keep
		log.Warn("pods share an address; enforcing the policies of one", "ip", p.IP, "kept", keep.key(), "ignored", drop.key())
	}
	return out
}

// preferred reports whether a rather than b owns their shared address.
func preferred(a, b Pod) bool {
	if a.Deleting != b.Deleting {
		return !a.Deleting
	}
	if a.Running != b.Running {
		return a.Running
	}
	return a.key() < b.key()
}
