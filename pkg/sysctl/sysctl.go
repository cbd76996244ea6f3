// Package sysctl knows which Linux kernel parameters (sysctls) are
// namespaced, and so may be set per pod, as Kubernetes' component helpers
// do: the apiserver refuses network and IPC sysctls for pods that share
// those namespaces with the node, the kubelet admits only namespaced
// sysctls it allows.
package sysctl

import "strings"

// Namespace is the kernel namespace a sysctl belongs to.
type Namespace string

// The namespaced sysctls' namespaces, named as Kubernetes' messages name
// them.
const (
	IPC     Namespace = "IPC"
	Net     Namespace = "Net"
	Unknown Namespace = ""
)

// byName are the IPC sysctls (kernel.shm* and kernel.msg* included for
// patterns).
var byName = map[string]Namespace{
	"kernel.sem":             IPC,
	"kernel.shmall":          IPC,
	"kernel.shmmax":          IPC,
	"kernel.shmmni":          IPC,
	"kernel.shm_rmid_forced": IPC,
	"kernel.shm":             IPC,
	"kernel.msgmax":          IPC,
	"kernel.msgmnb":          IPC,
	"kernel.msgmni":          IPC,
	"kernel.msg":             IPC,
}

// byPrefix are the trees of namespaced sysctls.
var byPrefix = map[string]Namespace{"net": Net, "fs.mqueue": IPC}

// NormalizeName writes a sysctl with dots between its parts: one written
// with slashes (net/ipv4/conf/eno2.100/rp_filter) has its dots and slashes
// swapped (net.ipv4.conf.eno2/100.rp_filter).
func NormalizeName(name string) string {
	i := strings.IndexAny(name, "./")
	if i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}

// NamespaceOf is the namespace of a sysctl, or of a pattern's prefix (the
// part before a '*'); prefixed reports a pattern or a whole tree.
func NamespaceOf(sysctl string) (ns Namespace, nameOrPrefix string, prefixed bool) {
	nameOrPrefix = NormalizeName(sysctl)
	if i := strings.IndexByte(nameOrPrefix, '*'); i >= 0 {
		nameOrPrefix, prefixed = nameOrPrefix[:i], true
	}
	if ns, ok := byName[nameOrPrefix]; ok {
		return ns, nameOrPrefix, prefixed
	}
	for p, ns := range byPrefix {
		if strings.HasPrefix(nameOrPrefix, p+".") {
			return ns, nameOrPrefix, prefixed
		}
	}
	return Unknown, nameOrPrefix, prefixed
}
