// Package labels matches label selectors against labels, as Kubernetes
// does for the selectors of ReplicaSets, Deployments, affinity terms and
// topology spread constraints.
package labels

import (
	"slices"

	metav1 "skiff.dev/api/meta/v1"
)

// Matches reports whether sel selects an object with labels set. A nil
// selector selects nothing, an empty one everything.
func Matches(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil {
		return false
	}
	for k, v := range sel.GetMatchLabels() {
		if got, ok := set[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range sel.GetMatchExpressions() {
		if !requirementMatches(r, set) {
			return false
		}
	}
	return true
}

func requirementMatches(r *metav1.LabelSelectorRequirement, set map[string]string) bool {
	v, ok := set[r.GetKey()]
	switch r.GetOperator() {
	case "In":
		return ok && slices.Contains(r.GetValues(), v)
	case "NotIn":
		return !ok || !slices.Contains(r.GetValues(), v)
	case "Exists":
		return ok
	case "DoesNotExist":
		return !ok
	default:
		return false // validation refuses other operators
	}
}
