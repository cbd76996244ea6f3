package plugins

import (
	"slices"

	corev1 "skiff.dev/api/core/v1"
)

// inNamespaces reports whether a pod is in one of a term's namespaces
// (the incoming pod's own namespace when the term names none).
func inNamespaces(pod *corev1.Pod, namespaces []string, own string) bool {
	ns := pod.GetMetadata().GetNamespace()
	if len(namespaces) == 0 {
		return ns == own
	}
	return slices.Contains(namespaces, ns)
}
