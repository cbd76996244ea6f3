package rootcacertpublisher

import (
	"fmt"
	"maps"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/controller-manager/internal/controller"
)

// desired is the write that makes namespace ns publish ca: a new
// ConfigMap when cm (the cached one) is nil, an updated copy of cm when
// its data or description differ, nil when cm is as it should be. As in
// Kubernetes, the data is replaced whole, the description is put back
// when it is missing or empty, and other labels, annotations and
// binaryData are kept.
func desired(ns string, cm *corev1.ConfigMap, ca string) *corev1.ConfigMap {
	data := map[string]string{DataKey: ca}
	if cm == nil {
		return &corev1.ConfigMap{
			Metadata: &metav1.ObjectMeta{Name: ConfigMapName, Namespace: ns,
				Annotations: map[string]string{DescriptionAnnotation: Description}},
			Data: data,
		}
	}
	if maps.Equal(cm.GetData(), data) && cm.GetMetadata().GetAnnotations()[DescriptionAnnotation] != "" {
		return nil
	}
	out := proto.Clone(cm).(*corev1.ConfigMap)
	out.Data = data
	if out.Metadata == nil {
		out.Metadata = &metav1.ObjectMeta{}
	}
	if out.Metadata.Annotations == nil {
		out.Metadata.Annotations = map[string]string{}
	}
	out.Metadata.Annotations[DescriptionAnnotation] = Description
	return out
}

// active reports whether a namespace takes new content: not deleted, not
// Terminating.
func active(ns *corev1.Namespace) bool {
	return ns.GetMetadata().GetDeletionTimestamp() == nil && ns.GetStatus().GetPhase() != "Terminating"
}

// createResult is what a reconcile returns after creating the ConfigMap
// in namespace ns answered err: a namespace that is gone or terminating
// needs nothing more; one that already holds the ConfigMap is looked at
// again once the cache shows it.
func createResult(ns string, err error) error {
	switch {
	case err == nil, client.IsNotFound(err), controller.NamespaceTerminating(err):
		return nil
	case client.IsAlreadyExists(err):
		return controller.ErrRetry
	}
	return fmt.Errorf("create the root CA ConfigMap of namespace %s: %w", ns, err)
}
