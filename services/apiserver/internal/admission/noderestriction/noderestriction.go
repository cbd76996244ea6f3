// Package noderestriction is Kubernetes' NodeRestriction admission plugin:
// a kubelet (user system:node:<name> in group system:nodes) may write only
// what belongs to its node. It may create, update and delete only its own
// Node (and not give it labels under node-restriction.kubernetes.io/, nor
// change its taints or labels in kubernetes.io outside the kubelet's
// own set once created); create only mirror pods bound to itself that use
// no service account, secret, configmap or claim; update the status of and
// delete only pods bound to itself; evict only pods bound to itself;
// change only the capacity, conditions, allocatedResources and
// allocatedResourceStatuses in a claim's status; write only its own
// CSINode; and write only its own Lease in kube-node-lease. Requests of
// other users pass.
package noderestriction

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"google.golang.org/protobuf/proto"

	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/registry"
)

// Name is the plugin's name.
const Name = "NodeRestriction"

// mirrorAnnotation marks a mirror pod, the API copy of a static pod.
const mirrorAnnotation = "kubernetes.io/config.mirror"

// Plugin returns the plugin.
func Plugin() admission.Plugin {
	return admission.Plugin{Name: Name, Validate: validate}
}

// NodeName is the node a user is a kubelet of, and whether it is one:
// user system:node:<name> in group system:nodes.
func NodeName(u auth.User) (string, bool) {
	name, ok := strings.CutPrefix(u.Name, "system:node:")
	if !ok || name == "" {
		return "", false
	}
	for _, g := range u.Groups {
		if g == "system:nodes" {
			return name, true
		}
	}
	return "", false
}

func validate(ctx context.Context, w *registry.Write) error {
	u, ok := auth.UserFrom(ctx)
	if !ok {
		return nil
	}
	node, ok := NodeName(u)
	if !ok {
		return nil
	}
	res := w.Resource
	switch {
	case res.Group == "" && res.Plural == "pods":
		return admitPod(node, w)
	case res.Group == "" && res.Plural == "nodes":
		return admitNode(node, w)
	case res.Group == "coordination.k8s.io" && res.Plural == "leases":
		return admitLease(node, w)
	case res.Group == "" && res.Plural == "persistentvolumeclaims":
		return admitClaim(node, w)
	case res.Group == "storage.k8s.io" && res.Plural == "csinodes":
		if w.Name != node {
			return forbidden(w, "can only access CSINode with the same name as the requesting node")
		}
	}
	return nil
}

func forbidden(w *registry.Write, format string, args ...any) error {
	return apierrors.NewForbidden(w.Resource.ErrorResource(), w.Name, fmt.Sprintf(format, args...))
}

// admitPod lets a node write its own pods only.
func admitPod(node string, w *registry.Write) error {
	switch {
	case w.Operation == registry.OpCreate && w.Subresource == "":
		return admitMirrorPod(node, w)
	case w.Operation == registry.OpUpdate && w.Subresource == "status",
		w.Operation == registry.OpDelete:
		pod, _ := w.Old.(*corev1.Pod)
		if pod.GetSpec().GetNodeName() != node {
			return forbidden(w, "node %q can only update pod status for pods with spec.nodeName set to itself", node)
		}
		if w.Operation == registry.OpDelete {
			return nil
		}
		next, _ := w.Object.(*corev1.Pod)
		if next.GetSpec().GetNodeName() != node {
			return forbidden(w, "node %q can only update pod status for pods with spec.nodeName set to itself", node)
		}
		return nil
	case w.Operation == registry.OpUpdate:
		return forbidden(w, "node %q can only update pod status", node)
	}
	return nil
}

// admitMirrorPod lets a node create only mirror pods bound to itself that
// refer to no other API object.
func admitMirrorPod(node string, w *registry.Write) error {
	pod, _ := w.Object.(*corev1.Pod)
	if _, mirror := pod.GetMetadata().GetAnnotations()[mirrorAnnotation]; !mirror {
		return forbidden(w, "pod does not have %q annotation, node %q can only create mirror pods", mirrorAnnotation, node)
	}
	if pod.GetSpec().GetNodeName() != node {
		return forbidden(w, "node %q can only create pods with spec.nodeName set to itself", node)
	}
	for _, ref := range pod.GetMetadata().GetOwnerReferences() {
		if ref.GetApiVersion() != "v1" || ref.GetKind() != "Node" || ref.GetName() != node {
			return forbidden(w, "node %q can only create pods with an owner reference set to itself", node)
		}
	}
	spec := pod.GetSpec()
	if spec.GetServiceAccountName() != "" && spec.GetServiceAccountName() != "default" {
		return forbidden(w, "node %q can not create pods that reference a service account", node)
	}
	for _, vol := range spec.GetVolumes() {
		v := vol.GetVolumeSource()
		switch {
		case v.GetSecret() != nil:
			return forbidden(w, "node %q can not create pods that reference secrets", node)
		case v.GetConfigMap() != nil:
			return forbidden(w, "node %q can not create pods that reference configmaps", node)
		case v.GetPersistentVolumeClaim() != nil:
			return forbidden(w, "node %q can not create pods that reference persistentvolumeclaims", node)
		case v.GetProjected() != nil:
			for _, src := range v.GetProjected().GetSources() {
				if src.GetSecret() != nil || src.GetConfigMap() != nil || src.GetServiceAccountToken() != nil {
					return forbidden(w, "node %q can not create pods that reference secrets, configmaps or service account tokens", node)
				}
			}
		}
	}
	return nil
}

// restrictedLabelPrefix marks labels only administrators may set, by
// which workloads may be steered to nodes a kubelet cannot claim.
const restrictedLabelPrefix = "node-restriction.kubernetes.io/"

// admitNode lets a node write only its own Node, without labels under
// node-restriction.kubernetes.io/ and, once it exists, without changing
// its taints, owner references or config source.
func admitNode(node string, w *registry.Write) error {
	if w.Name != node {
		return forbidden(w, "node %q is not allowed to modify node %q", node, w.Name)
	}
	if w.Operation == registry.OpDelete {
		return nil
	}
	next, _ := w.Object.(*corev1.Node)
	old, _ := w.Old.(*corev1.Node)
	for k := range next.GetMetadata().GetLabels() {
		if strings.HasPrefix(k, restrictedLabelPrefix) && old.GetMetadata().GetLabels()[k] != next.GetMetadata().GetLabels()[k] {
			return forbidden(w, "node %q is not allowed to modify labels: %s", node, k)
		}
	}
	if w.Operation == registry.OpUpdate && w.Subresource == "" {
		if !proto.Equal(&corev1.NodeSpec{Taints: old.GetSpec().GetTaints()}, &corev1.NodeSpec{Taints: next.GetSpec().GetTaints()}) {
			return forbidden(w, "node %q is not allowed to modify taints", node)
		}
		if !maps.EqualFunc(ownerMap(old), ownerMap(next), func(a, b string) bool { return a == b }) {
			return forbidden(w, "node %q is not allowed to modify ownerReferences", node)
		}
	}
	return nil
}

func ownerMap(n *corev1.Node) map[string]string {
	out := map[string]string{}
	for _, r := range n.GetMetadata().GetOwnerReferences() {
		out[r.GetUid()] = r.GetKind() + "/" + r.GetName()
	}
	return out
}

// admitLease lets a node write only its own Lease in kube-node-lease.
func admitLease(node string, w *registry.Write) error {
	if w.Namespace != "kube-node-lease" {
		return nil
	}
	if w.Name != node {
		return forbidden(w, "can only access node lease with the same name as the requesting node")
	}
	if lease, ok := w.Object.(*coordinationv1.Lease); ok {
		for _, ref := range lease.GetMetadata().GetOwnerReferences() {
			if ref.GetKind() != "Node" || ref.GetName() != node {
				return forbidden(w, "node %q can only set an owner reference to itself on its lease", node)
			}
		}
	}
	return nil
}

// admitClaim lets a node update only a claim's status, and there only the
// capacity, conditions, allocated resources and their statuses (which
// claims it may reach at all the Node authorizer decides).
func admitClaim(node string, w *registry.Write) error {
	if w.Subresource != "status" {
		return forbidden(w, "may only update PVC status")
	}
	if w.Operation != registry.OpUpdate {
		return forbidden(w, "unexpected operation %q", w.Operation)
	}
	old, _ := w.Old.(*corev1.PersistentVolumeClaim)
	next, _ := w.Object.(*corev1.PersistentVolumeClaim)
	if !proto.Equal(claimFixedPart(old), claimFixedPart(next)) {
		return forbidden(w, "node %q is not allowed to update fields other than status.quantity and status.conditions", node)
	}
	return nil
}

// claimFixedPart is a copy of a claim without what a kubelet may change
// and without resourceVersion and managedFields.
func claimFixedPart(c *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	c = proto.CloneOf(c)
	if c == nil {
		return nil
	}
	if m := c.GetMetadata(); m != nil {
		m.ResourceVersion = ""
		m.ManagedFields = nil
	}
	if st := c.GetStatus(); st != nil {
		st.Capacity, st.Conditions = nil, nil
		st.AllocatedResources, st.AllocatedResourceStatuses = nil, nil
	}
	return c
}
