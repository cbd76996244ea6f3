package node

import (
	"strings"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// The storage objects a kubelet may reach, as Kubernetes' Node authorizer
// decides them: a PersistentVolume bound to a claim a pod on its node
// uses, a VolumeAttachment for its node (get, one by one), and its own
// CSINode (get, create, update, patch, delete; the name of a created one
// is checked by NodeRestriction).

func (a *Authorizer) setVolume(obj proto.Message) {
	pv := obj.(*corev1.PersistentVolume)
	a.mu.Lock()
	defer a.mu.Unlock()
	if ref := pv.GetSpec().GetClaimRef(); ref != nil && ref.GetName() != "" {
		a.pvClaim[pv.GetMetadata().GetName()] = ref.GetNamespace() + "/" + ref.GetName()
	} else {
		delete(a.pvClaim, pv.GetMetadata().GetName())
	}
}

func (a *Authorizer) removeVolume(_, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.pvClaim, name)
}

func (a *Authorizer) setAttachment(obj proto.Message) {
	va := obj.(*storagev1.VolumeAttachment)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.vaNode[va.GetMetadata().GetName()] = va.GetSpec().GetNodeName()
}

func (a *Authorizer) removeAttachment(_, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.vaNode, name)
}

// authorizeStorage decides the storage requests; ok is false for others.
func (a *Authorizer) authorizeStorage(node string, attrs authorizer.Attributes) (authorizer.Decision, string, bool) {
	if !attrs.ResourceRequest {
		return authorizer.DecisionNoOpinion, "", false
	}
	switch {
	case attrs.APIGroup == "" && attrs.Resource == "persistentvolumes":
		d, reason := a.authorizeGet(node, attrs, a.volumeRelated)
		return d, reason, true
	case attrs.APIGroup == "storage.k8s.io" && attrs.Resource == "volumeattachments":
		d, reason := a.authorizeGet(node, attrs, a.attachmentRelated)
		return d, reason, true
	case attrs.APIGroup == "storage.k8s.io" && attrs.Resource == "csinodes":
		d, reason := authorizeCSINode(node, attrs)
		return d, reason, true
	}
	return authorizer.DecisionNoOpinion, "", false
}

func (a *Authorizer) authorizeGet(node string, attrs authorizer.Attributes, related func(node, name string) bool) (authorizer.Decision, string) {
	switch {
	case attrs.Verb != "get":
		return authorizer.DecisionNoOpinion, "can only get individual resources of this type"
	case attrs.Subresource != "":
		return authorizer.DecisionNoOpinion, "cannot get subresource"
	case attrs.Name == "":
		return authorizer.DecisionNoOpinion, "No Object name found, key not found"
	case !related(node, attrs.Name):
		return authorizer.DecisionNoOpinion, "no relationship found between node '" + node + "' and this object"
	}
	return authorizer.DecisionAllow, ""
}

// volumeRelated: the volume's claim is used by a pod on the node.
func (a *Authorizer) volumeRelated(node, name string) bool {
	a.mu.RLock()
	claim, ok := a.pvClaim[name]
	a.mu.RUnlock()
	if !ok {
		return false
	}
	namespace, claimName, _ := strings.Cut(claim, "/")
	return a.related(node, "persistentvolumeclaims", namespace, claimName)
}

func (a *Authorizer) attachmentRelated(node, name string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	n, ok := a.vaNode[name]
	return ok && n == node
}

func authorizeCSINode(node string, attrs authorizer.Attributes) (authorizer.Decision, string) {
	switch attrs.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return authorizer.DecisionNoOpinion, "can only get, create, update, patch, or delete a CSINode"
	}
	if attrs.Subresource != "" {
		return authorizer.DecisionNoOpinion, "cannot authorize CSINode subresources"
	}
	if attrs.Verb != "create" && attrs.Name != node {
		return authorizer.DecisionNoOpinion, "can only access CSINode with the same name as the requesting node"
	}
	return authorizer.DecisionAllow, ""
}
