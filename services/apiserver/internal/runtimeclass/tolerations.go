package runtimeclass

import (
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
)

// MergeTolerations is first followed by second, without the tolerations
// that another in the result already covers (Kubernetes'
// util/tolerations.MergeTolerations): of two equal ones the first stays.
func MergeTolerations(first, second []*corev1.Toleration) []*corev1.Toleration {
	all := append(slices.Clip(first), second...)
	var merged []*corev1.Toleration
next:
	for i, t := range all {
		for _, m := range merged {
			if covers(m, t) {
				continue next
			}
		}
		for _, later := range all[i+1:] {
			if !proto.Equal(t, later) && covers(later, t) {
				continue next
			}
		}
		merged = append(merged, t)
	}
	return merged
}

// covers tells whether ss tolerates everything t does.
func covers(ss, t *corev1.Toleration) bool {
	if proto.Equal(ss, t) {
		return true
	}
	if t.GetKey() != ss.GetKey() && (ss.GetKey() != "" || ss.GetOperator() != "Exists") {
		return false // an empty key with Exists matches every key
	}
	if t.GetEffect() != ss.GetEffect() && ss.GetEffect() != "" {
		return false // an empty effect matches every effect
	}
	if ss.GetEffect() == "NoExecute" && ss.TolerationSeconds != nil {
		if t.TolerationSeconds == nil || t.GetTolerationSeconds() > ss.GetTolerationSeconds() {
			return false
		}
	}
	switch ss.GetOperator() {
	case "Equal", "":
		return t.GetOperator() == "Equal" && t.GetValue() == ss.GetValue()
	case "Exists":
		return true
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
