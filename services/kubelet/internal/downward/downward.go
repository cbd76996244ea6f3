// Package downward reads the downward API fields of a pod, and the
// requests and limits of its containers, that environment variables and
// volume files may refer to.
package downward

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "skiff.dev/api/core/v1"
)

// Field returns the value of a fieldRef fieldPath such as metadata.name,
// metadata.labels['app'] or status.podIP.
func Field(pod *corev1.Pod, path, podIP, hostIP string) (string, error) {
	meta := pod.GetMetadata()
	if key, ok := subscript(path, "metadata.labels"); ok {
		return meta.GetLabels()[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return meta.GetAnnotations()[key], nil
	}
	switch path {
	case "metadata.name":
		return meta.GetName(), nil
	case "metadata.namespace":
		return meta.GetNamespace(), nil
	case "metadata.uid":
		return meta.GetUid(), nil
	case "metadata.labels":
		return formatMap(meta.GetLabels()), nil
	case "metadata.annotations":
		return formatMap(meta.GetAnnotations()), nil
	case "spec.nodeName":
		return pod.GetSpec().GetNodeName(), nil
	case "spec.serviceAccountName":
		return pod.GetSpec().GetServiceAccountName(), nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	}
	return "", fmt.Errorf("unsupported fieldRef fieldPath %q", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// formatMap writes labels or annotations as Kubernetes does: sorted
// key="value" lines.
func formatMap(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + strconv.Quote(m[k])
	}
	return strings.Join(lines, "\n")
}
