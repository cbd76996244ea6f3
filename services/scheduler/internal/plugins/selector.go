package plugins

import (
	"slices"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// selects reports whether a label selector matches labels; a nil
// selector matches nothing, an empty one everything.
func selects(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil {
		return false
	}
	for k, v := range sel.GetMatchLabels() {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range sel.GetMatchExpressions() {
		v, ok := labels[r.GetKey()]
		switch r.GetOperator() {
		case "In":
			if !ok || !slices.Contains(r.GetValues(), v) {
				return false
			}
		case "NotIn":
			if ok && slices.Contains(r.GetValues(), v) {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
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
