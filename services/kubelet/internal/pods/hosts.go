package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "skiff.dev/api/core/v1"
)

// Kubernetes' headers of the /etc/hosts files it writes; conformance
// tests tell a kubelet-managed file by the first.
const (
	managedHostsHeader            = "# Kubernetes-managed hosts file.\n"
	managedHostsHeaderHostNetwork = "# Kubernetes-managed hosts file (host network).\n"
)

// nodeHostsFile is the node's hosts file, which pods on the host network
// see a copy of.
var nodeHostsFile = "/etc/hosts"

// podHostname is the pod's hostname: spec.hostname, or its name cut to 63
// characters without a trailing '-' or '.'.
func podHostname(pod *corev1.Pod) string {
	if h := pod.GetSpec().GetHostname(); h != "" {
		return h
	}
	name := pod.GetMetadata().GetName()
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	return name
}

// writeHosts writes the pod's /etc/hosts as Kubernetes does: localhost
// and the pod's hostname on its IP, or on the host network a copy of the
// node's file; then the spec's hostAliases.
func (m *Manager) writeHosts(pod *corev1.Pod, ip string) error {
	var b strings.Builder
	if pod.GetSpec().GetHostNetwork() {
		node, err := os.ReadFile(nodeHostsFile)
		if err != nil {
			return fmt.Errorf("read the node's hosts file: %w", err)
		}
		b.WriteString(managedHostsHeaderHostNetwork)
		b.Write(node)
	} else {
		b.WriteString(managedHostsHeader)
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
		if ip != "" {
			fmt.Fprintf(&b, "%s\t%s\n", ip, podHostname(pod))
		}
	}
	if aliases := pod.GetSpec().GetHostAliases(); len(aliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range aliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.GetIp(), strings.Join(a.GetHostnames(), "\t"))
		}
	}
	path := m.hostsFile(pod.GetMetadata().GetUid())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write the pod's hosts file: %w", err)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
