package kinds

import (
	"strconv"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// replicationControllers are core/v1 ReplicationControllers ("rc"), with
// status and scale subresources; their spec.selector is a map, which the
// scale subresource renders as a selector string.
func replicationControllers() *registry.Resource {
	return core("replicationcontrollers", "replicationcontroller", "ReplicationController", true, true,
		newOf[corev1.ReplicationController](), newOf[corev1.ReplicationControllerList](), replicationControllerStrategy, "rc")
}

// A delete that names no propagation policy orphans an RC's pods, as
// Kubernetes does for core/v1 requests.
var replicationControllerStrategy = registry.Strategy{
	OrphanByDefault:      true,
	Default:              mutate(defaults.ReplicationController),
	Validate:             check(validate.ValidateReplicationController),
	ValidateStatusUpdate: checkUpdate(validate.ValidateReplicationControllerStatus),
	FieldSet: fields(func(rc *corev1.ReplicationController) map[string]string {
		return map[string]string{"status.replicas": strconv.Itoa(int(rc.GetStatus().GetReplicas()))}
	}),
}
