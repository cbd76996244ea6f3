package pods

import (
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

// mountPropagation maps a volumeMount's mountPropagation to the CRI's, as
// Kubernetes' kubelet does: None (and unset) is private, HostToContainer
// is rslave, Bidirectional is rshared and only for privileged containers
// (a CSI driver's node plugin publishing under the kubelet's directory).
func mountPropagation(vm *corev1.VolumeMount, c *corev1.Container) (runtimeapi.MountPropagation, error) {
	if vm.MountPropagation == nil {
		return runtimeapi.MountPropagation_PROPAGATION_PRIVATE, nil
	}
	switch mode := vm.GetMountPropagation(); mode {
	case "None":
		return runtimeapi.MountPropagation_PROPAGATION_PRIVATE, nil
	case "HostToContainer":
		return runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER, nil
	case "Bidirectional":
		if !c.GetSecurityContext().GetPrivileged() {
			return 0, fmt.Errorf("volumeMount %q: Bidirectional mount propagation is available only to privileged containers", vm.GetName())
		}
		return runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL, nil
	default:
		return 0, fmt.Errorf("invalid MountPropagation mode: %q", mode)
	}
}
