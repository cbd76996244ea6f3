package plugins

import (
	"slices"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/labels"
)

// selects reports whether a label selector matches labels; a nil
// selector matches nothing, an empty one everything.
func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	return labels.Matches(sel, set)
}

// inNamespaces reports whether a pod is in one of a term's namespaces
// (the incoming pod's own namespace when the term names none).
func inNamespaces(pod *corev1.Pod, namespaces []string, own string) bool {
	ns := pod.GetMetadata().GetNamespace()
	if len(namespaces) == 0 {
		return ns == own
	}
	return slices.Contains(namespaces, ns)
}
