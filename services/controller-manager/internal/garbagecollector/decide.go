package garbagecollector

import (
	"slices"

	metav1 "skiff.dev/api/meta/v1"
)

// ownerState is what an owner reference points at, as Kubernetes'
// collector classifies references.
type ownerState int

const (
	// solid: the owner exists and is not deleting its dependents.
	solid ownerState = iota
	// dangling: the owner is gone, or replaced by another object under
	// its name.
	dangling
	// waiting: the owner is being deleted in the foreground and waits
	// for its dependents.
	waiting
)

// step is what the collector does with an object that is not being
// deleted, given the state of its owners.
type step struct {
	// drop are the owner uids whose references are removed.
	drop []string
	// unblock clears blockOwnerDeletion on the object's references
	// before it is deleted.
	unblock bool
	// policy is the propagation policy the object is deleted with; ""
	// keeps it.
	policy string
}

// decide carries out Kubernetes' rules for an object with owners:
//   - with an owner that stays, the object stays and only loses its
//     references to owners that are gone or waiting for their dependents
//     (else a waiting owner would wait for it forever);
//   - an object whose owners are going and that has dependents of its own
//     goes in the foreground too, so the wait runs down the chain. When one
//     of those dependents is itself waiting for its dependents, owners may
//     form a cycle (A owns B owns A): the object then stops blocking its
//     owners first, so the owners can finish, then the rest of the cycle;
//   - otherwise the object goes, honouring an orphan or foreground
//     finalizer it already carries.
//
// states holds each reference's owner state by uid; dependents is how many
// objects the object owns and dependentWaiting whether one of them is
// waiting for its own dependents.
func decide(refs []*metav1.OwnerReference, states map[string]ownerState, dependents int, dependentWaiting bool, finalizers []string) step {
	if len(refs) == 0 {
		return step{}
	}
	var stays, going []string
	anyWaiting := false
	for _, ref := range refs {
		switch states[ref.GetUid()] {
		case solid:
			stays = append(stays, ref.GetUid())
		case waiting:
			anyWaiting = true
			going = append(going, ref.GetUid())
		default:
			going = append(going, ref.GetUid())
		}
	}
	switch {
	case len(stays) > 0:
		return step{drop: going}
	case anyWaiting && dependents > 0:
		return step{unblock: dependentWaiting && blocks(refs), policy: "Foreground"}
	case slices.Contains(finalizers, FinalizerOrphan):
		return step{policy: "Orphan"}
	case slices.Contains(finalizers, FinalizerForeground):
		return step{policy: "Foreground"}
	default:
		return step{policy: "Background"}
	}
}

// blocks reports whether a reference blocks its owner's deletion.
func blocks(refs []*metav1.OwnerReference) bool {
	return slices.ContainsFunc(refs, func(r *metav1.OwnerReference) bool { return r.GetBlockOwnerDeletion() })
}
