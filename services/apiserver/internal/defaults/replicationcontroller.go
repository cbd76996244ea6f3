package defaults

import (
	"maps"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// ReplicationController: an empty selector and empty labels become the
// template's labels, one replica, and the pod template's defaults, as
// Kubernetes' core/v1 defaulting does.
func ReplicationController(rc *corev1.ReplicationController) {
	if rc.Spec == nil {
		rc.Spec = &corev1.ReplicationControllerSpec{}
	}
	sp := rc.Spec
	if tmplLabels := sp.GetTemplate().GetMetadata().GetLabels(); tmplLabels != nil {
		if len(sp.Selector) == 0 {
			sp.Selector = maps.Clone(tmplLabels)
		}
		if len(rc.GetMetadata().GetLabels()) == 0 {
			if rc.Metadata == nil {
				rc.Metadata = &metav1.ObjectMeta{}
			}
			rc.Metadata.Labels = maps.Clone(tmplLabels)
		}
	}
	if sp.Replicas == nil {
		sp.Replicas = proto.Int32(1)
	}
	if sp.Template != nil {
		template(&sp.Template)
	}
}
