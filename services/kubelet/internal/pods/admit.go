package pods

import (
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/kubelet/internal/sysctls"
)

// admit returns why a pod that has not started here may not run on this
// node (its sysctls), as Kubernetes rejects it, or nil.
func (m *Manager) admit(pod *corev1.Pod, ps *podState) *failure {
	if m.cfg.Sysctls == nil || len(ps.sandboxes) > 0 {
		return nil
	}
	if msg := m.cfg.Sysctls.Admit(pod); msg != "" {
		return &failure{reason: sysctls.ForbiddenReason, message: "Pod was rejected: " + msg}
	}
	return nil
}
