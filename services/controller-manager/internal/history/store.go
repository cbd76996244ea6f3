package history

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// maxCollisions bounds the names Create tries for one state.
const maxCollisions = 100

// History reads revisions from the shared informer and writes them
// through the API.
type History struct {
	c    *client.Client
	revs *informer.Informer[*appsv1.ControllerRevision]
}

// NewHistory wires a History to the shared ControllerRevision informer.
func NewHistory(c *client.Client, f *informers.Factory) *History {
	return &History{c: c, revs: informers.For[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList](f)}
}

// Informer is the shared ControllerRevision informer, for controllers
// that follow revision changes.
func (h *History) Informer() *informer.Informer[*appsv1.ControllerRevision] { return h.revs }

// Claim returns the revisions the owner controls, sorted oldest first,
// after adopting matching orphans and releasing revisions it controls
// that its selector no longer matches, as Kubernetes' controllers claim
// them. A deleting owner adopts nothing.
func (h *History) Claim(ctx context.Context, owner *metav1.ObjectMeta, ref *metav1.OwnerReference, sel *metav1.LabelSelector) ([]*appsv1.ControllerRevision, error) {
	m := controller.RefManager[*appsv1.ControllerRevision]{Owner: owner, Ref: ref, Selector: sel, Patch: h.patch,
		AdoptError: "controllerrevision", ReleaseError: "controllerrevision"}
	out, err := m.Claim(ctx, h.revs.Store().ByIndex(informer.IndexNamespace, owner.GetNamespace()))
	if err != nil {
		return nil, err
	}
	Sort(out)
	return out, nil
}

// patch patches a revision by strategic merge.
func (h *History) patch(ctx context.Context, r *appsv1.ControllerRevision, patch []byte) (*appsv1.ControllerRevision, error) {
	return h.c.AppsV1().ControllerRevisions(r.GetMetadata().GetNamespace()).Patch(ctx, r.GetMetadata().GetName(),
		client.StrategicPatch, patch, client.WriteOptions{}, "")
}

// Create writes rev. A revision of the same name that holds the same
// state is returned as it is; one that holds another state is a hash
// collision: collisions (the owner's status.collisionCount) goes up and
// the name is made again, as Kubernetes does.
func (h *History) Create(ctx context.Context, rev *appsv1.ControllerRevision, collisions *int32) (*appsv1.ControllerRevision, error) {
	if collisions == nil {
		return nil, fmt.Errorf("controllerrevision %s: no collision count", rev.GetMetadata().GetName())
	}
	ns := rev.GetMetadata().GetNamespace()
	owner := ownerName(rev)
	for range maxCollisions {
		clone := proto.Clone(rev).(*appsv1.ControllerRevision)
		hash := Hash(clone.GetData().GetRaw(), collisions)
		clone.Metadata.Name = Name(owner, hash)
		clone.Metadata.Labels[HashLabel] = hash
		created, err := h.c.AppsV1().ControllerRevisions(ns).Create(ctx, clone, client.WriteOptions{})
		if err == nil {
			return created, nil
		}
		if !client.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create controllerrevision %s/%s: %w", ns, clone.GetMetadata().GetName(), err)
		}
		existing, err := h.c.AppsV1().ControllerRevisions(ns).Get(ctx, clone.GetMetadata().GetName())
		if err != nil {
			return nil, fmt.Errorf("get controllerrevision %s/%s: %w", ns, clone.GetMetadata().GetName(), err)
		}
		if Equal(existing, clone) {
			return existing, nil
		}
		*collisions++
	}
	return nil, fmt.Errorf("create controllerrevision of %s/%s: %d hash collisions", ns, owner, maxCollisions)
}

// Renumber gives an existing revision a new revision number (a rollback
// to an old state makes that state the newest again).
func (h *History) Renumber(ctx context.Context, rev *appsv1.ControllerRevision, revision int64) (*appsv1.ControllerRevision, error) {
	if rev.GetRevision() == revision {
		return rev, nil
	}
	patch := fmt.Sprintf(`{"revision":%d,"metadata":{"uid":%q}}`, revision, rev.GetMetadata().GetUid())
	out, err := h.c.AppsV1().ControllerRevisions(rev.GetMetadata().GetNamespace()).Patch(ctx, rev.GetMetadata().GetName(),
		client.MergePatch, []byte(patch), client.WriteOptions{}, "")
	if err != nil {
		return nil, fmt.Errorf("renumber controllerrevision %s: %w", informer.KeyOf(rev), err)
	}
	return out, nil
}

// Delete removes a revision; one already gone is no error.
func (h *History) Delete(ctx context.Context, rev *appsv1.ControllerRevision) error {
	uid := rev.GetMetadata().GetUid()
	_, err := h.c.AppsV1().ControllerRevisions(rev.GetMetadata().GetNamespace()).Delete(ctx, rev.GetMetadata().GetName(),
		&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{Uid: &uid}})
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("delete controllerrevision %s: %w", informer.KeyOf(rev), err)
	}
	return nil
}

// Truncate deletes the oldest revisions that are not live until at most
// limit of those remain; live says which revisions are in use (the
// current and update revisions, those some pod still runs). revs are
// sorted oldest first.
func (h *History) Truncate(ctx context.Context, revs []*appsv1.ControllerRevision, limit int32, live func(*appsv1.ControllerRevision) bool) error {
	var dead []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live(r) {
			dead = append(dead, r)
		}
	}
	for i := 0; i < len(dead)-int(max(limit, 0)); i++ {
		if err := h.Delete(ctx, dead[i]); err != nil {
			return err
		}
	}
	return nil
}

// ownerName is the name of the revision's controller, which its name
// starts with.
func ownerName(rev *appsv1.ControllerRevision) string {
	if ref := controller.ControllerOf(rev.GetMetadata()); ref != nil {
		return ref.GetName()
	}
	return rev.GetMetadata().GetName()
}
