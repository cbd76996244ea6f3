package pvlabel

import (
	corev1 "skiff.dev/api/core/v1"
)

// Node keys a volume's node affinity may pin it to one node with.
const (
	hostnameLabel = "kubernetes.io/hostname"
	localCSIKey   = "topology.local.csi.skiff.dev/node"
)

// PinnedTo is the node a volume's required node affinity names alone: one
// term with a metadata.name field, kubernetes.io/hostname label or the
// local CSI driver's node key In exactly one value. "" when it has none.
func PinnedTo(v *corev1.PersistentVolume) (value string, byHostname bool) {
	terms := v.GetSpec().GetNodeAffinity().GetRequired().GetNodeSelectorTerms()
	if len(terms) != 1 {
		return "", false
	}
	for _, r := range terms[0].GetMatchFields() {
		if r.GetKey() == "metadata.name" && r.GetOperator() == "In" && len(r.GetValues()) == 1 {
			return r.GetValues()[0], false
		}
	}
	for _, r := range terms[0].GetMatchExpressions() {
		if (r.GetKey() == hostnameLabel || r.GetKey() == localCSIKey) && r.GetOperator() == "In" && len(r.GetValues()) == 1 {
			return r.GetValues()[0], r.GetKey() == hostnameLabel
		}
	}
	return "", false
}

// pinnedNode is the Node the volume is pinned to, nil when none (or when
// it has not joined).
func (c *Controller) pinnedNode(v *corev1.PersistentVolume) *corev1.Node {
	value, byHostname := PinnedTo(v)
	if value == "" {
		return nil
	}
	if n, ok := c.cfg.Nodes.Store().Get(value); ok {
		return n
	}
	if byHostname {
		for _, n := range c.cfg.Nodes.Store().List() {
			if n.GetMetadata().GetLabels()[hostnameLabel] == value {
				return n
			}
		}
	}
	return nil
}
