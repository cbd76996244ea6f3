package registry

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/warning"
)

// errDeleteNow tells the update loop that the object lost its last
// finalizer while being deleted and must go now.
var errDeleteNow = errors.New("finalizers done")

// Update replaces the object's spec and metadata (not its status, when the
// kind has a status subresource).
func (s *Store) Update(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error) {
	opts.Subresource = ""
	return s.update(ctx, obj, opts)
}

// Finalize replaces only a namespace's spec.finalizers (namespaces/finalize).
func (s *Store) Finalize(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error) {
	opts.Subresource = "finalize"
	return s.UpdatePart(ctx, obj, opts)
}

// UpdatePart replaces only the part of the object that the subresource
// opts.Subresource writes (one of the resource's Parts).
func (s *Store) UpdatePart(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error) {
	if _, ok := s.res.Parts[opts.Subresource]; !ok {
		return nil, apierrors.NewNotFound(s.res.ErrorResource(), object.Meta(obj).GetName()+"/"+opts.Subresource)
	}
	return s.update(ctx, obj, opts)
}

// UpdateStatus replaces the object's status and metadata, never its spec.
func (s *Store) UpdateStatus(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error) {
	if !s.res.HasStatus {
		return nil, apierrors.NewMethodNotSupported(s.res.ErrorResource(), "update status")
	}
	opts.Subresource = "status"
	return s.update(ctx, obj, opts)
}

func (s *Store) update(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error) {
	meta := object.Meta(obj)
	name, ns := meta.GetName(), meta.GetNamespace()
	if !s.res.Namespaced {
		ns = ""
	}
	if name == "" {
		return nil, apierrors.NewBadRequest("name is required in the object's metadata")
	}
	var result proto.Message
	tryUpdate := func(current proto.Message) (proto.Message, error) {
		next, err := s.nextVersion(ctx, obj, current, opts)
		if err != nil {
			return nil, err
		}
		result = next
		if s.finalized(next, current) {
			return nil, errDeleteNow
		}
		return next, nil
	}
	if opts.DryRun {
		current, err := s.storage.Get(ctx, ns, name)
		if err != nil {
			return nil, s.storageError(err, name)
		}
		next, err := tryUpdate(current)
		if err != nil && !errors.Is(err, errDeleteNow) {
			return nil, err
		}
		return s.finish(next), nil
	}
	out, err := s.storage.Update(ctx, ns, name, tryUpdate)
	if errors.Is(err, errDeleteNow) {
		return s.deleteVersion(ctx, result, object.Meta(result).GetResourceVersion())
	}
	if err != nil {
		return nil, s.storageError(err, name)
	}
	return s.finish(out), nil
}

// finalized tells whether an update took the last finalizer off an object
// whose deletion is due, which then goes, as Kubernetes decides it: the
// stored object had finalizers, the new one has none, and its deletion
// grace period is 0 (an object still in a graceful deletion, such as a
// terminating pod, stays until whoever deletes it confirms with 0).
func (s *Store) finalized(next, current proto.Message) bool {
	nm, cm := object.Meta(next), object.Meta(current)
	return nm.GetDeletionTimestamp() != nil && nm.DeletionGracePeriodSeconds != nil && nm.GetDeletionGracePeriodSeconds() == 0 &&
		len(nm.GetFinalizers()) == 0 && !s.pending(next) &&
		(len(cm.GetFinalizers()) > 0 || s.pending(current))
}

// nextVersion computes the object to store from the client's obj and the
// stored current version.
func (s *Store) nextVersion(ctx context.Context, obj, current proto.Message, opts UpdateOptions) (proto.Message, error) {
	meta, cur := object.Meta(obj), object.Meta(current)
	if rv := meta.GetResourceVersion(); rv != "" && rv != cur.GetResourceVersion() {
		return nil, apierrors.NewConflict(s.res.ErrorResource(), meta.GetName(), apierrors.ConflictModified)
	}
	if errs := validateMetaUpdate(meta, cur); len(errs) > 0 {
		return nil, apierrors.NewInvalid(s.res.ErrorResource(), meta.GetName(), errs)
	}
	var next proto.Message
	part, isPart := s.res.Parts[opts.Subresource]
	switch {
	case opts.Subresource == "status":
		// As Kubernetes' status strategies: only the spec is the stored
		// one, so metadata changed through status (annotations, labels)
		// stays, save what the kind's status strategy resets.
		next = proto.Clone(obj)
		object.CopyPart(next, current, s.res.specPart())
		if s.res.Strategy.PrepareForStatusUpdate != nil {
			s.res.Strategy.PrepareForStatusUpdate(next, current)
		}
	case isPart:
		next = proto.Clone(current)
		object.CopyPath(next, obj, part...)
	default:
		next = proto.Clone(obj)
		if s.res.HasStatus {
			object.CopyPart(next, current, "status")
		}
		for _, path := range s.res.Parts {
			object.CopyPath(next, current, path...)
		}
	}
	if s.res.Strategy.PrepareForUpdate != nil {
		s.res.Strategy.PrepareForUpdate(opts.Subresource, next, current)
	}
	nm := object.Meta(next)
	if !isPart {
		keepSystemMeta(nm, cur)
	}
	if err := s.prune(ctx, next, opts.FieldValidation); err != nil {
		return nil, err
	}
	if s.res.Strategy.Default != nil {
		s.res.Strategy.Default(next)
	}
	w := &Write{Operation: OpUpdate, Resource: s.res, Namespace: nm.GetNamespace(), Name: nm.GetName(),
		Object: next, Old: current, Subresource: opts.Subresource, DryRun: opts.DryRun, FieldManager: opts.FieldManager}
	if err := s.mutate(ctx, w); err != nil {
		return nil, err
	}
	next, nm = w.Object, object.Meta(w.Object)
	metaOnly := opts.Subresource == "status" && s.res.Strategy.StatusChecksMetaOnly
	var errs field.ErrorList
	if metaOnly {
		errs = s.res.validateMeta(nm)
	} else {
		errs = s.res.validate(next, nm)
	}
	switch validateUpdate := s.res.Strategy.ValidateUpdate; {
	case opts.Subresource == "status" && s.res.Strategy.ValidateStatusUpdate != nil:
		errs = append(errs, s.res.Strategy.ValidateStatusUpdate(next, current)...)
	case isPart && s.res.Strategy.ValidatePartUpdate != nil:
		errs = append(errs, s.res.Strategy.ValidatePartUpdate(opts.Subresource, next, current)...)
	case validateUpdate != nil && !metaOnly:
		errs = append(errs, validateUpdate(next, current)...)
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(s.res.ErrorResource(), meta.GetName(), errs)
	}
	s.warn(ctx, w)
	if err := s.checkWrite(ctx, *w); err != nil {
		return nil, err
	}
	if err := s.validateAdmission(ctx, w); err != nil {
		return nil, err
	}
	if spec := s.res.specPart(); object.HasPart(next, spec) && !object.PartEqual(next, current, spec) {
		nm.Generation = cur.GetGeneration() + 1
	}
	if !opts.applied {
		s.track(current, next, opts.FieldManager, opts.Subresource)
	}
	if s.res.Traced && !proto.Equal(next, current) {
		nm.Annotations = telemetry.InjectAnnotation(ctx, nm.GetAnnotations())
	}
	return next, nil
}

// warn adds the kind's warnings about a valid write to the answer.
func (s *Store) warn(ctx context.Context, w *Write) {
	if s.res.Strategy.Warnings == nil {
		return
	}
	for _, msg := range s.res.Strategy.Warnings(w) {
		warning.Add(ctx, msg)
	}
}

// prune drops the fields the kind does not declare: an error under
// fieldValidation=Strict, warnings under Warn (the default).
func (s *Store) prune(ctx context.Context, obj proto.Message, level string) error {
	if s.res.Strategy.Prune == nil {
		return nil
	}
	unknown := s.res.Strategy.Prune(obj)
	if len(unknown) == 0 {
		return nil
	}
	problems := make([]string, len(unknown))
	for i, path := range unknown {
		problems[i] = fmt.Sprintf("unknown field %q", path)
	}
	switch level {
	case "Strict":
		return apierrors.NewStrictDecoding(problems)
	case "Ignore":
	default:
		for _, p := range problems {
			warning.Add(ctx, p)
		}
	}
	return nil
}

// keepSystemMeta carries the fields only the server sets from the stored
// object into the new one.
func keepSystemMeta(meta, cur *metav1.ObjectMeta) {
	meta.Uid = cur.GetUid()
	meta.CreationTimestamp = cur.GetCreationTimestamp()
	meta.DeletionTimestamp = cur.GetDeletionTimestamp()
	meta.DeletionGracePeriodSeconds = cur.DeletionGracePeriodSeconds
	meta.Generation = cur.GetGeneration()
	meta.ResourceVersion = cur.GetResourceVersion()
	meta.SelfLink = ""
}

// Mutate applies f to the stored object and writes the result with no
// validation beyond what f does: for subresources with their own rules
// (pods/binding). f returns an *apierrors.StatusError to refuse.
func (s *Store) Mutate(ctx context.Context, namespace, name string, f func(current proto.Message) (proto.Message, error)) (proto.Message, error) {
	out, err := s.storage.Update(ctx, s.scope(namespace), name, func(current proto.Message) (proto.Message, error) {
		next := proto.Clone(current)
		return f(next)
	})
	if err != nil {
		return nil, s.storageError(err, name)
	}
	return s.finish(out), nil
}
