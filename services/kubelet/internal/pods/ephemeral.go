package pods

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

// syncEphemeralContainers starts the ephemeral containers (kubectl debug)
// that have not run yet in the pod's sandbox. They run once: an ended one
// is never restarted.
func (m *Manager) syncEphemeralContainers(ctx context.Context, pod *corev1.Pod, st *syncState) time.Duration {
	var requeue time.Duration
	for _, ec := range pod.GetSpec().GetEphemeralContainers() {
		spec := ec.GetEphemeralContainerCommon()
		if len(st.ps.containersOf(st.sandbox.id, spec.GetName())) > 0 {
			continue
		}
		requeue = minRequeue(requeue, m.start(ctx, pod, spec, st, false))
	}
	return requeue
}

// ephemeral is the pod's ephemeral container of that name, if any.
func ephemeral(pod *corev1.Pod, name string) *corev1.EphemeralContainer {
	for _, ec := range pod.GetSpec().GetEphemeralContainers() {
		if ec.GetEphemeralContainerCommon().GetName() == name {
			return ec
		}
	}
	return nil
}

// targetNamespace puts an ephemeral container that names a target into
// the process namespace of the target's running instance, as Kubernetes
// does with the CRI's TARGET namespace mode.
func targetNamespace(cfg *runtimeapi.ContainerConfig, pod *corev1.Pod, st *syncState) {
	target := ephemeral(pod, cfg.GetMetadata().GetName()).GetTargetContainerName()
	if target == "" {
		return
	}
	for _, c := range st.ps.containersOf(st.sandbox.id, target) {
		if c.GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		sc := cfg.GetLinux().GetSecurityContext()
		if sc == nil {
			return
		}
		if sc.NamespaceOptions == nil {
			sc.NamespaceOptions = &runtimeapi.NamespaceOption{}
		}
		sc.NamespaceOptions.Pid, sc.NamespaceOptions.TargetId = runtimeapi.NamespaceMode_TARGET, c.GetId()
		return
	}
}
