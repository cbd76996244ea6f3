package node

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// The storage objects a kubelet may reach, as Kubernetes' Node authorizer
// decides them: the status of a claim a pod on its node uses (update,
// patch), a PersistentVolume bound to such a claim, the Secrets that
// volume names for the CSI node calls (node.go), a VolumeAttachment for
// its node (get, one by one), and its own CSINode (get, create, update,
// patch, delete; the name of a created one is checked by NodeRestriction).

func (a *Authorizer) setVolume(obj proto.Message) {
	pv := obj.(*corev1.PersistentVolume)
	name := pv.GetMetadata().GetName()
	a.mu.Lock()
	defer a.mu.Unlock()
	if ref := pv.GetSpec().GetClaimRef(); ref != nil && ref.GetName() != "" {
		a.pvClaim[name] = ref.GetNamespace() + "/" + ref.GetName()
	} else {
		delete(a.pvClaim, name)
	}
	if secrets := nodeSecrets(pv); len(secrets) > 0 {
		a.pvSecret[name] = secrets
	} else {
		delete(a.pvSecret, name)
	}
}

// nodeSecrets lists, as namespace/name, the Secrets a kubelet reads for a
// volume's CSI node calls (stage, publish, expand), not the controller's.
func nodeSecrets(pv *corev1.PersistentVolume) []string {
	csi := pv.GetSpec().GetPersistentVolumeSource().GetCsi()
	var out []string
	for _, ref := range []*corev1.SecretReference{csi.GetNodeStageSecretRef(), csi.GetNodePublishSecretRef(), csi.GetNodeExpandSecretRef()} {
		if ref.GetName() != "" {
			out = append(out, ref.GetNamespace()+"/"+ref.GetName())
		}
	}
	return out
}

func (a *Authorizer) removeVolume(_, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.pvClaim, name)
	delete(a.pvSecret, name)
}

// volumeSecretRelated tells whether the Secret (namespace/name) is a node
// secret of a volume bound to a claim a pod on the node uses; the lock is
// held.
func (a *Authorizer) volumeSecretRelated(node, secret string) bool {
	for pv, secrets := range a.pvSecret {
		if !slices.Contains(secrets, secret) {
			continue
		}
		if claim, ok := a.pvClaim[pv]; ok && a.claimUsed(node, claim) {
			return true
		}
	}
	return false
}

// claimUsed tells whether a pod on the node uses the claim
// (namespace/name); the lock is held.
func (a *Authorizer) claimUsed(node, claim string) bool {
	namespace, name, _ := strings.Cut(claim, "/")
	return a.refersTo(node, "persistentvolumeclaims", namespace, name)
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
	case attrs.APIGroup == "" && attrs.Resource == "persistentvolumeclaims" && attrs.Subresource == "status":
		d, reason := a.authorizeStatusUpdate(node, attrs)
		return d, reason, true
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

// authorizeStatusUpdate lets a kubelet update or patch the status of a
// claim a pod on its node uses (what it may change there is narrowed by
// NodeRestriction).
func (a *Authorizer) authorizeStatusUpdate(node string, attrs authorizer.Attributes) (authorizer.Decision, string) {
	switch {
	case attrs.Verb != "update" && attrs.Verb != "patch":
		return authorizer.DecisionNoOpinion, "can only get/update/patch this type"
	case attrs.Name == "":
		return authorizer.DecisionNoOpinion, "No Object name found, key not found"
	case !a.claimRelated(node, attrs.Namespace+"/"+attrs.Name):
		return authorizer.DecisionNoOpinion, "no relationship found between node '" + node + "' and this object"
	}
	return authorizer.DecisionAllow, ""
}

// volumeRelated: the volume's claim is used by a pod on the node.
func (a *Authorizer) volumeRelated(node, name string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	claim, ok := a.pvClaim[name]
	return ok && a.claimUsed(node, claim)
}

// claimRelated: a pod on the node uses the claim (name is namespace/name).
func (a *Authorizer) claimRelated(node, name string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.claimUsed(node, name)
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
