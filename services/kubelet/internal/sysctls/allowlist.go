// Package sysctls decides which sysctls a pod may set on this node, as
// Kubernetes' kubelet does: the safe set (namespaced and isolated from
// other pods, where the kernel namespaces them) plus the unsafe ones the
// operator allows with --allowed-unsafe-sysctls, never a network or IPC
// sysctl for a pod that shares that namespace with the node.
package sysctls

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/sysctl"
)

// ForbiddenReason is Kubernetes' reason for a pod rejected for a sysctl.
const ForbiddenReason = "SysctlForbidden"

// safe is Kubernetes 1.32's safe set, each with the kernel version that
// namespaces it.
var safe = []struct {
	name   string
	kernel [2]int
}{
	{"kernel.shm_rmid_forced", [2]int{}},
	{"net.ipv4.ip_local_port_range", [2]int{}},
	{"net.ipv4.tcp_syncookies", [2]int{}},
	{"net.ipv4.ping_group_range", [2]int{}},
	{"net.ipv4.ip_unprivileged_port_start", [2]int{}},
	{"net.ipv4.ip_local_reserved_ports", [2]int{3, 16}},
	{"net.ipv4.tcp_keepalive_time", [2]int{4, 5}},
	{"net.ipv4.tcp_fin_timeout", [2]int{4, 6}},
	{"net.ipv4.tcp_keepalive_intvl", [2]int{4, 5}},
	{"net.ipv4.tcp_keepalive_probes", [2]int{4, 5}},
	{"net.ipv4.tcp_rmem", [2]int{4, 15}},
	{"net.ipv4.tcp_wmem", [2]int{4, 15}},
}

// pattern is a valid --allowed-unsafe-sysctls entry, Kubernetes' sysctl
// pattern: a sysctl name whose last segment may end in '*', at most 253
// characters.
var pattern = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]$`)

// Allowlist holds the sysctls and sysctl prefixes pods may set, with the
// namespace of each.
type Allowlist struct {
	names    map[string]sysctl.Namespace
	prefixes map[string]sysctl.Namespace
}

// New returns the safe sysctls the kernel (major, minor) namespaces plus
// the unsafe patterns (a sysctl, or a prefix ending in '*'), which must
// be namespaced.
func New(kernel [2]int, unsafe []string) (*Allowlist, error) {
	a := &Allowlist{names: map[string]sysctl.Namespace{}, prefixes: map[string]sysctl.Namespace{}}
	var patterns []string
	for _, s := range safe {
		if kernel[0] > s.kernel[0] || kernel[0] == s.kernel[0] && kernel[1] >= s.kernel[1] {
			patterns = append(patterns, s.name)
		}
	}
	for _, p := range append(patterns, unsafe...) {
		if len(p) > 253 || !pattern.MatchString(p) {
			return nil, fmt.Errorf("sysctl %q must have at most 253 characters and match regex %s", p, pattern)
		}
		ns, nameOrPrefix, prefixed := sysctl.NamespaceOf(p)
		switch {
		case ns == sysctl.Unknown:
			return nil, fmt.Errorf("the sysctls %q are not known to be namespaced", nameOrPrefix)
		case prefixed:
			a.prefixes[nameOrPrefix] = ns
		default:
			a.names[nameOrPrefix] = ns
		}
	}
	return a, nil
}

// Admit returns why the pod may not run here, as Kubernetes words it, or
// "" when every sysctl it sets is allowed.
func (a *Allowlist) Admit(pod *corev1.Pod) string {
	for _, s := range pod.GetSpec().GetSecurityContext().GetSysctls() {
		if err := a.check(s.GetName(), pod.GetSpec().GetHostNetwork(), pod.GetSpec().GetHostIpc()); err != nil {
			return "forbidden sysctl: " + err.Error()
		}
	}
	return ""
}

func (a *Allowlist) check(name string, hostNet, hostIPC bool) error {
	name = sysctl.NormalizeName(name)
	ns, ok := a.names[name]
	for p, pns := range a.prefixes {
		if !ok && strings.HasPrefix(name, p) {
			ns, ok = pns, true
		}
	}
	switch {
	case !ok:
		return fmt.Errorf("%q not allowlisted", name)
	case ns == sysctl.IPC && hostIPC, ns == sysctl.Net && hostNet:
		return fmt.Errorf("%q not allowed with host %s enabled", name, ns)
	}
	return nil
}
