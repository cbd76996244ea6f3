package pods

import (
	"path/filepath"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/sysctl"
)

// containerSecurity is the container's CRI security context as Kubernetes
// derives it: the container's user and group over the pod's, the pod's
// fsGroup and supplementalGroups as supplementary groups, the pod's
// namespaces, and the container's own capabilities and flags. A container
// with no user anywhere runs as its image says.
func containerSecurity(pod *corev1.Pod, spec *corev1.Container) *runtimeapi.LinuxContainerSecurityContext {
	psc, csc := podSecurityContext(pod), spec.GetSecurityContext()
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	sc := &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser:          int64Value(psc.RunAsUser, csc.RunAsUser),
		RunAsGroup:         int64Value(psc.RunAsGroup, csc.RunAsGroup),
		SupplementalGroups: supplementalGroups(psc),
		NamespaceOptions:   namespaceOptions(pod),
		ReadonlyRootfs:     csc.GetReadOnlyRootFilesystem(),
		NoNewPrivs:         csc.AllowPrivilegeEscalation != nil && !csc.GetAllowPrivilegeEscalation(),
		Privileged:         csc.GetPrivileged(),
	}
	if c := csc.GetCapabilities(); c != nil {
		sc.Capabilities = &runtimeapi.Capability{AddCapabilities: c.GetAdd(), DropCapabilities: c.GetDrop()}
	}
	return sc
}

// seccompProfile is the container's seccomp profile for the runtime: the
// container's, else the pod's, else none (Unconfined, the kubelet's
// default without --seccomp-default). A Localhost profile is a file under
// root, the kubelet's seccomp directory.
func seccompProfile(pod *corev1.Pod, spec *corev1.Container, root string) *runtimeapi.SecurityProfile {
	sp := spec.GetSecurityContext().GetSeccompProfile()
	if sp == nil {
		sp = pod.GetSpec().GetSecurityContext().GetSeccompProfile()
	}
	switch sp.GetType() {
	case "RuntimeDefault":
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	case "Localhost":
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost,
			LocalhostRef: filepath.Join(root, sp.GetLocalhostProfile())}
	}
	return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
}

// sandboxSecurity is the sandbox's CRI security context: the pod's user,
// group and supplementary groups, its namespaces, and privileged when any
// of its containers is (containerd refuses a privileged container in a
// sandbox that is not).
func sandboxSecurity(pod *corev1.Pod) *runtimeapi.LinuxSandboxSecurityContext {
	psc := podSecurityContext(pod)
	return &runtimeapi.LinuxSandboxSecurityContext{
		RunAsUser:          int64Value(psc.RunAsUser, nil),
		RunAsGroup:         int64Value(psc.RunAsGroup, nil),
		SupplementalGroups: supplementalGroups(psc),
		NamespaceOptions:   namespaceOptions(pod),
		Privileged:         hasPrivilegedContainer(pod),
	}
}

// hasPrivilegedContainer says whether any init, app or ephemeral container
// of the pod asks to be privileged, as Kubernetes' kubelet decides the
// sandbox's privilege.
func hasPrivilegedContainer(pod *corev1.Pod) bool {
	sp := pod.GetSpec()
	for _, cs := range [][]*corev1.Container{sp.GetInitContainers(), sp.GetContainers()} {
		for _, c := range cs {
			if c.GetSecurityContext().GetPrivileged() {
				return true
			}
		}
	}
	for _, c := range sp.GetEphemeralContainers() {
		if c.GetEphemeralContainerCommon().GetSecurityContext().GetPrivileged() {
			return true
		}
	}
	return false
}

// podSecurityContext is the pod's security context, empty if unset.
func podSecurityContext(pod *corev1.Pod) *corev1.PodSecurityContext {
	if sc := pod.GetSpec().GetSecurityContext(); sc != nil {
		return sc
	}
	return &corev1.PodSecurityContext{}
}

// int64Value is the container's setting if it has one, else the pod's.
func int64Value(pod, container *int64) *runtimeapi.Int64Value {
	switch {
	case container != nil:
		return &runtimeapi.Int64Value{Value: *container}
	case pod != nil:
		return &runtimeapi.Int64Value{Value: *pod}
	}
	return nil
}

// supplementalGroups are the fsGroup, then the pod's supplementalGroups,
// in Kubernetes' order.
func supplementalGroups(psc *corev1.PodSecurityContext) []int64 {
	var groups []int64
	if psc.FsGroup != nil {
		groups = append(groups, psc.GetFsGroup())
	}
	return append(groups, psc.GetSupplementalGroups()...)
}

// namespaceOptions are the pod's network, PID and IPC namespaces: the
// node's for hostNetwork, hostPID and hostIPC; PID per container unless
// the pod shares one.
func namespaceOptions(pod *corev1.Pod) *runtimeapi.NamespaceOption {
	spec := pod.GetSpec()
	ns := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}
	if spec.GetHostNetwork() {
		ns.Network = runtimeapi.NamespaceMode_NODE
	}
	if spec.GetHostPid() {
		ns.Pid = runtimeapi.NamespaceMode_NODE
	} else if spec.GetShareProcessNamespace() {
		ns.Pid = runtimeapi.NamespaceMode_POD
	}
	if spec.GetHostIpc() {
		ns.Ipc = runtimeapi.NamespaceMode_NODE
	}
	return ns
}

// podSysctls are the sysctls the sandbox sets, named with dots (a name
// written with slashes is converted, as Kubernetes does before the
// runtime sees it).
func podSysctls(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	for _, s := range podSecurityContext(pod).GetSysctls() {
		out[sysctl.NormalizeName(s.GetName())] = s.GetValue()
	}
	return out
}
