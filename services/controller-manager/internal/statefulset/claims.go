package statefulset

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
)

// claim looks a claim up in the cache.
func (sc *Controller) claim(namespace, name string) (*corev1.PersistentVolumeClaim, bool) {
	return sc.claims.Store().Get(namespace + "/" + name)
}

// createClaims creates the pod's claims that do not exist yet; a claim
// being deleted is an error until it is gone, as Kubernetes waits for it.
func (sc *Controller) createClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	var errs []error
	for _, c := range claimsFor(set, ordinalOf(pod)) {
		ns, name := c.GetMetadata().GetNamespace(), c.GetMetadata().GetName()
		if existing, ok := sc.claim(ns, name); ok {
			if existing.GetMetadata().GetDeletionTimestamp() != nil {
				errs = append(errs, fmt.Errorf("pvc %s is being deleted", name))
			}
			continue
		}
		_, err := client.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](sc.c, ns).Create(ctx, c, client.WriteOptions{})
		switch {
		case err == nil:
			sc.Events.Eventf(set, events.Normal, "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s success",
				name, pod.GetMetadata().GetName(), set.GetMetadata().GetName())
		case client.IsAlreadyExists(err):
		default:
			sc.Events.Eventf(set, events.Warning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %v",
				name, pod.GetMetadata().GetName(), set.GetMetadata().GetName(), err)
			errs = append(errs, fmt.Errorf("failed to create PVC %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// policy is the set's claim retention policy, Retain where unset.
func policy(set *appsv1.StatefulSet) (whenDeleted, whenScaled string) {
	p := set.GetSpec().GetPersistentVolumeClaimRetentionPolicy()
	whenDeleted, whenScaled = p.GetWhenDeleted(), p.GetWhenScaled()
	if whenDeleted != "Delete" {
		whenDeleted = "Retain"
	}
	if whenScaled != "Delete" {
		whenScaled = "Retain"
	}
	return whenDeleted, whenScaled
}

// wantedOwners says which of the set and the pod should own a claim of
// the pod, as Kubernetes' retention policy has it: the set when claims go
// with the set (whenDeleted: Delete) and the pod is not scaled down; the
// pod when claims go on scale-down (whenScaled: Delete) and it is.
func wantedOwners(set *appsv1.StatefulSet, pod *corev1.Pod) (bySet, byPod bool) {
	whenDeleted, whenScaled := policy(set)
	scaledDown := !inRange(pod, set)
	switch {
	case whenScaled == "Retain" && whenDeleted == "Delete":
		return true, false
	case whenScaled == "Delete" && whenDeleted == "Retain":
		return false, scaledDown
	case whenScaled == "Delete" && whenDeleted == "Delete":
		return !scaledDown, scaledDown
	}
	return false, false
}

func refersTo(ref *metav1.OwnerReference, apiVersion, kind, name string) bool {
	return ref.GetApiVersion() == apiVersion && ref.GetKind() == kind && ref.GetName() == name
}

// ownersUpToDate reports whether the claim's owner references follow the
// policy. A claim owned by an earlier set or pod of the same name (a
// stale reference) is left alone, as is one another controller owns.
func ownersUpToDate(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	setUID, podUID := set.GetMetadata().GetUid(), pod.GetMetadata().GetUid()
	hasSet, hasPod, foreign := false, false, false
	for _, ref := range claim.GetMetadata().GetOwnerReferences() {
		switch {
		case refersTo(ref, "apps/v1", "StatefulSet", set.GetMetadata().GetName()):
			if ref.GetUid() != setUID {
				return true // stale
			}
			hasSet = true
			if !ref.GetController() {
				return false
			}
		case refersTo(ref, "v1", "Pod", pod.GetMetadata().GetName()):
			if ref.GetUid() != podUID {
				return true // stale
			}
			hasPod = true
			if !ref.GetController() {
				return false
			}
		case ref.GetController():
			foreign = true
		}
	}
	bySet, byPod := wantedOwners(set, pod)
	if foreign && (bySet || byPod) {
		return !hasSet && !hasPod
	}
	return hasSet == bySet && hasPod == byPod
}

// withOwners is the claim with its owner references to the set and the
// pod made as the policy wants them.
func withOwners(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) *corev1.PersistentVolumeClaim {
	out := proto.Clone(claim).(*corev1.PersistentVolumeClaim)
	var refs []*metav1.OwnerReference
	foreign := false
	for _, ref := range out.GetMetadata().GetOwnerReferences() {
		if refersTo(ref, "apps/v1", "StatefulSet", set.GetMetadata().GetName()) || refersTo(ref, "v1", "Pod", pod.GetMetadata().GetName()) {
			continue
		}
		foreign = foreign || ref.GetController()
		refs = append(refs, ref)
	}
	bySet, byPod := wantedOwners(set, pod)
	yes := true
	if !foreign && bySet {
		refs = append(refs, OwnerReference(set))
	}
	if !foreign && byPod {
		refs = append(refs, &metav1.OwnerReference{ApiVersion: "v1", Kind: "Pod", Name: pod.GetMetadata().GetName(),
			Uid: pod.GetMetadata().GetUid(), Controller: &yes, BlockOwnerDeletion: &yes})
	}
	out.Metadata.OwnerReferences = refs
	return out
}

// claimsMatchPolicy reports whether every existing claim of the pod has
// the owners the policy wants.
func (sc *Controller) claimsMatchPolicy(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	for _, c := range claimsFor(set, ordinalOf(pod)) {
		if claim, ok := sc.claim(c.GetMetadata().GetNamespace(), c.GetMetadata().GetName()); ok && !ownersUpToDate(claim, set, pod) {
			return false
		}
	}
	return true
}

// updateClaimOwners writes the owners the policy wants on the pod's
// claims.
func (sc *Controller) updateClaimOwners(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	for _, c := range claimsFor(set, ordinalOf(pod)) {
		ns, name := c.GetMetadata().GetNamespace(), c.GetMetadata().GetName()
		claim, ok := sc.claim(ns, name)
		if !ok || ownersUpToDate(claim, set, pod) {
			continue
		}
		_, err := client.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](sc.c, ns).Update(ctx, withOwners(claim, set, pod), client.WriteOptions{})
		if err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("could not update claim %s for delete policy ownerRefs: %w", name, err)
		}
	}
	return nil
}

// claimIsStale reports whether a claim of a pod about to be made still
// belongs to an earlier pod of that name that claims go with on
// scale-down: it is being deleted, and the pod must wait for it.
func (sc *Controller) claimIsStale(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	if _, whenScaled := policy(set); whenScaled == "Retain" {
		return false
	}
	for _, c := range claimsFor(set, ordinalOf(pod)) {
		claim, ok := sc.claim(c.GetMetadata().GetNamespace(), c.GetMetadata().GetName())
		if !ok {
			continue
		}
		for _, ref := range claim.GetMetadata().GetOwnerReferences() {
			if refersTo(ref, "v1", "Pod", pod.GetMetadata().GetName()) && ref.GetUid() != pod.GetMetadata().GetUid() {
				return true
			}
		}
	}
	return false
}
