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

// maxFQDNLength is the longest hostname the kernel's nodename field
// holds (64 bytes with the terminating NUL in Kubernetes' reading).
const maxFQDNLength = 64

// podHostname is the pod's hostname: spec.hostname, or its name cut to 63
// characters without a trailing '-' or '.'.
func podHostname(pod *corev1.Pod) string {
	h := pod.GetMetadata().GetName()
	if s := pod.GetSpec().GetHostname(); s != "" {
		h = s
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// podDomain is the pod's domain when it names a subdomain:
// <subdomain>.<namespace>.svc.<cluster domain>.
func podDomain(pod *corev1.Pod, clusterDomain string) string {
	sub := pod.GetSpec().GetSubdomain()
	if sub == "" {
		return ""
	}
	return sub + "." + pod.GetMetadata().GetNamespace() + ".svc." + clusterDomain
}

// kernelHostname is the hostname the pod's sandbox gets: the pod's
// hostname, or with setHostnameAsFQDN and a subdomain its fully
// qualified name, which must fit the kernel's field.
func kernelHostname(pod *corev1.Pod, clusterDomain string) (string, error) {
	host, domain := podHostname(pod), podDomain(pod, clusterDomain)
	if domain == "" || !pod.GetSpec().GetSetHostnameAsFqdn() {
		return host, nil
	}
	fqdn := host + "." + domain
	if len(fqdn) > maxFQDNLength {
		return "", fmt.Errorf("failed to construct FQDN from pod hostname and cluster domain, FQDN %s is too long (%d characters is the max, %d characters requested)", fqdn, maxFQDNLength, len(fqdn))
	}
	return fqdn, nil
}

// writeHosts writes the pod's /etc/hosts as Kubernetes does: localhost
// and the pod's hostname on its IP, or on the host network a copy of the
// node's file; then the spec's hostAliases. A pod with a subdomain has
// its fully qualified name first on its IP.
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
		host, domain := podHostname(pod), podDomain(pod, m.cfg.DNS.ClusterDomain)
		switch {
		case ip == "":
		case domain != "":
			fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", ip, host, domain, host)
		default:
			fmt.Fprintf(&b, "%s\t%s\n", ip, host)
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
