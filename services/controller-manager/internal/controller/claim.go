package controller

import (
	"context"
	"fmt"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/kjson"
	"skiff.dev/pkg/labels"
)

// ControllerOf is the owner reference marked controller, if any.
func ControllerOf(meta *metav1.ObjectMeta) *metav1.OwnerReference {
	for _, ref := range meta.GetOwnerReferences() {
		if ref.GetController() {
			return ref
		}
	}
	return nil
}

// OwnerReference is the controller reference an object of the kind given
// puts on what it makes: controller, and blocking its owner's deletion.
func OwnerReference(apiVersion, kind string, meta *metav1.ObjectMeta) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{ApiVersion: apiVersion, Kind: kind, Name: meta.GetName(),
		Uid: meta.GetUid(), Controller: &yes, BlockOwnerDeletion: &yes}
}

// RefManager claims objects of one kind for one owner, as Kubernetes'
// ControllerRefManager does: an object the owner controls stays its own
// while the owner's selector matches it and is released when it stops
// matching; an orphan the selector matches is adopted unless the owner or
// the orphan is being deleted. Adoption and release are strategic merge
// patches of the owner references (merged by uid) pinned to the object's
// uid, as Kubernetes' controllers write them: their roles may patch what
// they own, not update it.
type RefManager[T events.Object] struct {
	// Owner is the owner's metadata (its uid, its deletion).
	Owner *metav1.ObjectMeta
	// Ref is the controller reference an adoption adds.
	Ref *metav1.OwnerReference
	// Selector picks the objects the owner wants.
	Selector *metav1.LabelSelector
	// Match, when set, must also hold for an object to be wanted (a
	// StatefulSet wants only pods named as its members).
	Match func(T) bool
	// Patch applies a strategic merge patch to an object and returns the
	// object as written.
	Patch func(ctx context.Context, obj T, patch []byte) (T, error)
	// AdoptPatch and ReleasePatch are more members of the patch's
	// metadata, without braces: the Job's tracking finalizer goes with its
	// controller reference.
	AdoptPatch, ReleasePatch string
	// AdoptError and ReleaseError start the error of a failed adoption or
	// release, before the object's key: "adopt pod".
	AdoptError, ReleaseError string
}

// Claim returns the objects among objs that the owner controls after its
// adoptions and releases. An object gone before its adoption is left
// out; one gone before its release is no error.
func (m *RefManager[T]) Claim(ctx context.Context, objs []T) ([]T, error) {
	uid := m.Owner.GetUid()
	canAdopt := m.Owner.GetDeletionTimestamp() == nil
	var owned []T
	for _, obj := range objs {
		meta := obj.GetMetadata()
		ref := ControllerOf(meta)
		if ref != nil && ref.GetUid() != uid {
			continue // another controller's
		}
		matches := labels.Matches(m.Selector, meta.GetLabels()) && (m.Match == nil || m.Match(obj))
		switch {
		case ref != nil && matches:
			owned = append(owned, obj)
		case ref != nil:
			if err := m.release(ctx, obj); err != nil {
				return nil, err
			}
		case matches && canAdopt && meta.GetDeletionTimestamp() == nil:
			adopted, ok, err := m.adopt(ctx, obj)
			if err != nil {
				return nil, err
			}
			if ok {
				owned = append(owned, adopted)
			}
		}
	}
	return owned, nil
}

// adopt makes the owner the object's controller; ok is false when the
// object is gone.
func (m *RefManager[T]) adopt(ctx context.Context, obj T) (adopted T, ok bool, err error) {
	ref, err := kjson.Marshal(m.Ref)
	if err != nil {
		return adopted, false, err
	}
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[%s],%s"uid":%q}}`, ref, member(m.AdoptPatch), obj.GetMetadata().GetUid())
	adopted, err = m.Patch(ctx, obj, []byte(patch))
	switch {
	case client.IsNotFound(err):
		return adopted, false, nil
	case err != nil:
		return adopted, false, fmt.Errorf("%s %s: %w", m.AdoptError, informer.KeyOf(obj), err)
	}
	return adopted, true, nil
}

// release drops the owner's reference from the object.
func (m *RefManager[T]) release(ctx context.Context, obj T) error {
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"$patch":"delete","uid":%q}],%s"uid":%q}}`,
		m.Owner.GetUid(), member(m.ReleasePatch), obj.GetMetadata().GetUid())
	if _, err := m.Patch(ctx, obj, []byte(patch)); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("%s %s: %w", m.ReleaseError, informer.KeyOf(obj), err)
	}
	return nil
}

// member is s followed by a comma, as a member of a JSON object that
// more members follow.
func member(s string) string {
	if s == "" {
		return ""
	}
	return s + ","
}
