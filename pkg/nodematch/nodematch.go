// Package nodematch decides, as Kubernetes does, whether a node suits a
// pod: node selector terms (labels and the metadata.name field) and
// taints against tolerations. The scheduler and the DaemonSet controller
// share it, so both judge a node alike.
package nodematch

import (
	"slices"
	"strconv"

	corev1 "skiff.dev/api/core/v1"
)

// Term ANDs a node selector term's requirements; an empty term matches
// nothing.
func Term(t *corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(t.GetMatchExpressions()) == 0 && len(t.GetMatchFields()) == 0 {
		return false
	}
	labels := node.GetMetadata().GetLabels()
	for _, r := range t.GetMatchExpressions() {
		v, ok := labels[r.GetKey()]
		if !requirement(r, v, ok) {
			return false
		}
	}
	for _, r := range t.GetMatchFields() {
		if r.GetKey() != "metadata.name" || !requirement(r, node.GetMetadata().GetName(), true) {
			return false
		}
	}
	return true
}

// Selector ORs a node selector's terms; a nil selector matches every node.
func Selector(sel *corev1.NodeSelector, node *corev1.Node) bool {
	if sel == nil {
		return true
	}
	return slices.ContainsFunc(sel.GetNodeSelectorTerms(), func(t *corev1.NodeSelectorTerm) bool { return Term(t, node) })
}

// Required reports whether the node meets what a pod spec requires of
// it: every nodeSelector label and the required node affinity.
func Required(spec *corev1.PodSpec, node *corev1.Node) bool {
	labels := node.GetMetadata().GetLabels()
	for k, v := range spec.GetNodeSelector() {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return Selector(spec.GetAffinity().GetNodeAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution(), node)
}

func requirement(r *corev1.NodeSelectorRequirement, v string, present bool) bool {
	switch r.GetOperator() {
	case "In":
		return present && slices.Contains(r.GetValues(), v)
	case "NotIn":
		return !present || !slices.Contains(r.GetValues(), v)
	case "Exists":
		return present
	case "DoesNotExist":
		return !present
	case "Gt", "Lt":
		if !present || len(r.GetValues()) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(r.GetValues()[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.GetOperator() == "Gt" {
			return have > want
		}
		return have < want
	}
	return false
}

// Tolerates reports whether one toleration tolerates the taint: the same
// effect (or any), the same key (or, with Exists, any), and with Equal
// (the default operator) the same value.
func Tolerates(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.GetEffect() != "" && t.GetEffect() != taint.GetEffect() {
		return false
	}
	if t.GetKey() != "" && t.GetKey() != taint.GetKey() {
		return false
	}
	switch t.GetOperator() {
	case "Exists":
		return true
	case "", "Equal":
		return t.GetKey() != "" && t.GetValue() == taint.GetValue()
	}
	return false
}

// Tolerated reports whether a toleration in the list tolerates the taint.
func Tolerated(tols []*corev1.Toleration, taint *corev1.Taint) bool {
	return slices.ContainsFunc(tols, func(t *corev1.Toleration) bool { return Tolerates(t, taint) })
}
