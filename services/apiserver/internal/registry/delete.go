package registry

import (
	"context"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
)

// Finalizers the garbage collector honours for the propagation policies.
const (
	FinalizerOrphan     = "orphan"
	FinalizerForeground = "foregroundDeletion"
)

// Delete removes an object, or marks it for deletion when finalizers or a
// grace period keep it around; it returns the object's last state.
func (s *Store) Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions) (proto.Message, error) {
	if !s.res.Namespaced {
		namespace = ""
	}
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	current, err := s.storage.Get(ctx, namespace, name)
	if err != nil {
		return nil, s.storageError(err, name)
	}
	if err := s.checkPreconditions(current, opts.GetPreconditions()); err != nil {
		return nil, err
	}
	if err := s.validateAdmission(ctx, &Write{Operation: OpDelete, Resource: s.res, Namespace: namespace, Name: name,
		Old: current, DryRun: len(opts.GetDryRun()) > 0, DeleteOptions: opts}); err != nil {
		return nil, err
	}
	grace, graceful := int64(0), false
	if s.res.Strategy.GracePeriod != nil {
		grace, graceful = s.res.Strategy.GracePeriod(current, opts.GracePeriodSeconds)
	}
	finalizers := s.finalizersFor(current, opts)
	if len(finalizers) == 0 && !s.pending(current) && (!graceful || grace == 0) {
		if len(opts.GetDryRun()) > 0 {
			return s.finish(current), nil
		}
		return s.deleteNow(ctx, current)
	}
	return s.markDeleting(ctx, namespace, name, opts, finalizers, grace, graceful)
}

// finalizersFor is the finalizer list the object will carry while it is
// being deleted with these options.
func (s *Store) finalizersFor(obj proto.Message, opts *metav1.DeleteOptions) []string {
	meta := object.Meta(obj)
	fins := slices.Clone(meta.GetFinalizers())
	if s.res.Strategy.DeleteFinalizers != nil && meta.GetDeletionTimestamp() == nil {
		for _, f := range s.res.Strategy.DeleteFinalizers(obj) {
			fins = addString(fins, f)
		}
	}
	policy := opts.GetPropagationPolicy()
	asked := opts != nil && opts.OrphanDependents != nil
	if asked && opts.GetOrphanDependents() {
		policy = "Orphan"
	}
	if policy == "" && !asked && s.res.Strategy.OrphanByDefault && !slices.Contains(fins, FinalizerForeground) {
		policy = "Orphan"
	}
	switch policy {
	case "Orphan":
		fins = addString(fins, FinalizerOrphan)
	case "Foreground":
		fins = addString(fins, FinalizerForeground)
	}
	return fins
}

func addString(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func (s *Store) checkPreconditions(current proto.Message, pre *metav1.Preconditions) error {
	if pre == nil {
		return nil
	}
	meta := object.Meta(current)
	if pre.Uid != nil && pre.GetUid() != meta.GetUid() {
		return apierrors.NewConflict(s.res.ErrorResource(), meta.GetName(),
			"Precondition failed: UID in precondition: "+pre.GetUid()+", UID in object meta: "+meta.GetUid())
	}
	if pre.ResourceVersion != nil && pre.GetResourceVersion() != meta.GetResourceVersion() {
		return apierrors.NewConflict(s.res.ErrorResource(), meta.GetName(),
			"Precondition failed: ResourceVersion in precondition: "+pre.GetResourceVersion()+", ResourceVersion in object meta: "+meta.GetResourceVersion())
	}
	return nil
}

// markDeleting sets deletionTimestamp (now + grace) and the finalizers.
func (s *Store) markDeleting(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, fins []string, grace int64, graceful bool) (proto.Message, error) {
	if !graceful {
		grace = 0
	}
	tryUpdate := func(current proto.Message) (proto.Message, error) {
		if err := s.checkPreconditions(current, opts.GetPreconditions()); err != nil {
			return nil, err
		}
		next := proto.Clone(current)
		meta := object.Meta(next)
		meta.Finalizers = s.finalizersFor(next, opts)
		if s.res.Strategy.PrepareForDelete != nil {
			s.res.Strategy.PrepareForDelete(next)
		}
		if meta.GetDeletionTimestamp() == nil {
			meta.DeletionTimestamp = timestamppb.New(s.now().Add(time.Duration(grace) * time.Second).Truncate(time.Second))
			meta.DeletionGracePeriodSeconds = &grace
		} else if meta.DeletionGracePeriodSeconds != nil && grace < meta.GetDeletionGracePeriodSeconds() {
			// A shorter grace period may replace a longer one, never the reverse.
			meta.DeletionTimestamp = timestamppb.New(s.now().Add(time.Duration(grace) * time.Second).Truncate(time.Second))
			meta.DeletionGracePeriodSeconds = &grace
		}
		return next, nil
	}
	if len(opts.GetDryRun()) > 0 {
		current, err := s.storage.Get(ctx, ns, name)
		if err != nil {
			return nil, s.storageError(err, name)
		}
		next, err := tryUpdate(current)
		if err != nil {
			return nil, err
		}
		return s.finish(next), nil
	}
	out, err := s.storage.Update(ctx, ns, name, tryUpdate)
	if err != nil {
		return nil, s.storageError(err, name)
	}
	meta := object.Meta(out)
	if len(meta.GetFinalizers()) == 0 && !s.pending(out) && meta.GetDeletionGracePeriodSeconds() == 0 {
		return s.deleteNow(ctx, out)
	}
	return s.finish(out), nil
}

// deleteNow removes the object from storage if it is still the same
// object and has no finalizers left.
func (s *Store) deleteNow(ctx context.Context, obj proto.Message) (proto.Message, error) {
	return s.deleteVersion(ctx, obj, "")
}

// deleteVersion removes the object; with expectRV set, the stored version
// must be exactly that one (an update that removed the last finalizer),
// otherwise the stored object must have no finalizers.
func (s *Store) deleteVersion(ctx context.Context, obj proto.Message, expectRV string) (proto.Message, error) {
	meta := object.Meta(obj)
	uid := meta.GetUid()
	out, err := s.storage.Delete(ctx, meta.GetNamespace(), meta.GetName(), func(current proto.Message) error {
		cm := object.Meta(current)
		if cm.GetUid() != uid {
			return apierrors.NewConflict(s.res.ErrorResource(), cm.GetName(), "the object was replaced while it was being deleted")
		}
		if expectRV != "" {
			if cm.GetResourceVersion() != expectRV {
				return apierrors.NewConflict(s.res.ErrorResource(), cm.GetName(), apierrors.ConflictModified)
			}
			return nil
		}
		if len(cm.GetFinalizers()) > 0 || s.pending(current) {
			return apierrors.NewConflict(s.res.ErrorResource(), cm.GetName(), "the object gained finalizers while it was being deleted")
		}
		return nil
	})
	if err != nil {
		return nil, s.storageError(err, meta.GetName())
	}
	return s.finish(out), nil
}

// pending tells whether kind-specific finalizers still hold obj.
func (s *Store) pending(obj proto.Message) bool {
	return s.res.Strategy.PendingFinalizers != nil && len(s.res.Strategy.PendingFinalizers(obj)) > 0
}
