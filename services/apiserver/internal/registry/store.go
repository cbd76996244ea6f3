package registry

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/storage"
)

// NamespaceCheck refuses writes into a namespace that does not exist or is
// terminating. It returns an *apierrors.StatusError.
type NamespaceCheck func(ctx context.Context, namespace string) error

// Operation is what a write does, as admission names it.
type Operation string

// The operations admission sees.
const (
	OpCreate Operation = "CREATE"
	OpUpdate Operation = "UPDATE"
	OpDelete Operation = "DELETE"
)

// Write is a create, update or delete as admission and the write checks
// see it: on create and update after defaulting (mutating admission may
// still change Object) and, for the checks and validating admission,
// after validation.
type Write struct {
	Operation Operation
	Resource  *Resource
	// Namespace and Name of the object; on create the name the request
	// gave, or its generateName when it gave none (Kubernetes generates
	// names after admission).
	Namespace, Name string
	// Object is the object to store; nil on delete.
	Object proto.Message
	// Old is the stored object; nil on create.
	Old proto.Message
	// Subresource is "" for the object itself, or status, finalize, ...
	Subresource string
	DryRun      bool
	// FieldManager is the field manager a create or update names;
	// DeleteOptions are a delete's options (nil for the defaults). Both
	// are for admission webhooks, which are sent the write's options.
	FieldManager  string
	DeleteOptions *metav1.DeleteOptions
}

// WriteCheck refuses a write the request's user may not make, or that
// breaks a rule spanning objects (an *apierrors.StatusError, usually
// Forbidden): RBAC's escalation checks. It reads the user from ctx; an
// in-process write carries none. Unlike admission it cannot be switched
// off. Write checks see creates and updates.
type WriteCheck func(ctx context.Context, w Write) error

// Admission is the admission chain a store runs on every write: Mutate
// may change w.Object (creates and updates, after defaulting and before
// validation); Validate may refuse (creates and updates after validation,
// deletes before anything is deleted).
type Admission interface {
	Mutate(ctx context.Context, w *Write) error
	Validate(ctx context.Context, w *Write) error
}

// Store is the Backend of one resource over storage.
type Store struct {
	res       *Resource
	storage   *storage.Store
	nsCheck   NamespaceCheck
	admission Admission
	checks    []WriteCheck
	now       func() time.Time
	// fields remembers the field sets of the objects matched last: a
	// change is matched against every watcher's selector in turn.
	fields fieldMemo
}

// The generic store serves every kind's scale, finalize and part
// subresources (each only where the kind declares it).
var (
	_ Backend     = (*Store)(nil)
	_ Scaler      = (*Store)(nil)
	_ Finalizer   = (*Store)(nil)
	_ PartUpdater = (*Store)(nil)
)

// NewStore gives res its Kubernetes semantics over st. nsCheck may be nil
// (cluster-scoped kinds, or the Namespace kind itself).
func NewStore(res *Resource, st *storage.Store, nsCheck NamespaceCheck) *Store {
	return &Store{res: res, storage: st, nsCheck: nsCheck, now: time.Now}
}

// SetNamespaceCheck installs the check that refuses writes into missing or
// terminating namespaces; it is set after construction because the check
// itself reads the namespaces store.
func (s *Store) SetNamespaceCheck(check NamespaceCheck) { s.nsCheck = check }

// SetAdmission installs the admission chain; it is set after construction
// because its plugins may read other resources' stores.
func (s *Store) SetAdmission(a Admission) { s.admission = a }

type withoutAdmissionKey struct{}

// WithoutAdmission marks the writes made with the returned context as the
// server's own housekeeping, which admission does not see: the deletion of
// a deleted CustomResourceDefinition's objects, which Kubernetes' finalizer
// makes without admission, so that no webhook can hold it up.
func WithoutAdmission(ctx context.Context) context.Context {
	return context.WithValue(ctx, withoutAdmissionKey{}, true)
}

func (s *Store) admits(ctx context.Context) bool {
	return s.admission != nil && ctx.Value(withoutAdmissionKey{}) == nil
}

// mutate runs mutating admission, if any.
func (s *Store) mutate(ctx context.Context, w *Write) error {
	if !s.admits(ctx) {
		return nil
	}
	return s.admission.Mutate(ctx, w)
}

// validateAdmission runs validating admission, if any.
func (s *Store) validateAdmission(ctx context.Context, w *Write) error {
	if !s.admits(ctx) {
		return nil
	}
	return s.admission.Validate(ctx, w)
}

// AddWriteCheck adds a check every create and update must pass, after
// validation and before the write.
func (s *Store) AddWriteCheck(c WriteCheck) { s.checks = append(s.checks, c) }

// checkWrite runs the write checks in order; the first refusal wins.
func (s *Store) checkWrite(ctx context.Context, w Write) error {
	for _, c := range s.checks {
		if err := c(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// Resource is the resource this store serves.
func (s *Store) Resource() *Resource { return s.res }

// Create stores a new object. A generated name already taken is
// generated again (CreateWithGeneratedName), as Kubernetes does.
func (s *Store) Create(ctx context.Context, obj proto.Message, opts CreateOptions) (proto.Message, error) {
	if NeedsGeneratedName(obj) {
		return CreateWithGeneratedName(ctx, obj, func(ctx context.Context, named proto.Message) (proto.Message, error) {
			return s.create(ctx, named, true, opts)
		})
	}
	return s.create(ctx, obj, false, opts)
}

// create stores a new object. Admission sees the name the client asked
// for: the generateName when the name was generated.
func (s *Store) create(ctx context.Context, obj proto.Message, generated bool, opts CreateOptions) (proto.Message, error) {
	obj = proto.Clone(obj)
	meta := object.Meta(obj)
	requested := meta.GetName()
	if generated {
		requested = meta.GetGenerateName()
	}
	if s.res.Namespaced && s.nsCheck != nil && meta.GetNamespace() != "" {
		if err := s.nsCheck(ctx, meta.GetNamespace()); err != nil {
			return nil, err
		}
	}
	if err := s.prune(ctx, obj, opts.FieldValidation); err != nil {
		return nil, err
	}
	s.prepareCreate(ctx, obj, meta)
	w := &Write{Operation: OpCreate, Resource: s.res, Namespace: meta.GetNamespace(), Name: requested, Object: obj, DryRun: opts.DryRun,
		FieldManager: opts.FieldManager}
	if err := s.mutate(ctx, w); err != nil {
		return nil, err
	}
	obj, meta = w.Object, object.Meta(w.Object)
	errs := s.res.validate(obj, meta)
	if s.res.Strategy.ValidateCreate != nil {
		errs = append(errs, s.res.Strategy.ValidateCreate(obj)...)
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
	if !opts.applied {
		s.track(nil, obj, opts.FieldManager, "")
	}
	if opts.DryRun {
		return s.finish(obj), nil
	}
	out, err := s.storage.Create(ctx, obj)
	if err != nil {
		return nil, s.storageError(err, meta.GetName())
	}
	return s.finish(out), nil
}

func (s *Store) prepareCreate(ctx context.Context, obj proto.Message, meta *metav1.ObjectMeta) {
	meta.Uid = uuid.NewString()
	meta.CreationTimestamp = timestamppb.New(s.now().Truncate(time.Second))
	meta.ResourceVersion = ""
	meta.SelfLink = ""
	meta.DeletionTimestamp = nil
	meta.DeletionGracePeriodSeconds = nil
	meta.Generation = 1
	if !s.res.Namespaced {
		// Kubernetes ignores a namespace on cluster-scoped objects.
		meta.Namespace = ""
	}
	if s.res.HasStatus {
		object.ClearPart(obj, "status")
	}
	if s.res.Strategy.PrepareForCreate != nil {
		s.res.Strategy.PrepareForCreate(ctx, obj)
	}
	if s.res.Strategy.Default != nil {
		s.res.Strategy.Default(obj)
	}
	if s.res.Traced {
		meta.Annotations = telemetry.InjectAnnotation(ctx, meta.GetAnnotations())
	}
}

// Get reads one object.
func (s *Store) Get(ctx context.Context, namespace, name string, opts GetOptions) (proto.Message, error) {
	if _, ok := resourceVersion(opts.ResourceVersion); !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %q", opts.ResourceVersion))
	}
	obj, err := s.storage.GetAt(ctx, namespace, name, opts.ResourceVersion)
	if err != nil {
		return nil, s.storageError(err, name)
	}
	return s.finish(obj), nil
}

// finish sets the type fields every answer carries.
func (s *Store) finish(obj proto.Message) proto.Message {
	object.SetTypeMeta(obj, s.res.GroupVersion(), s.res.Kind)
	return obj
}

func (s *Store) storageError(err error, name string) error {
	if se, ok := apierrors.FromStorage(err, s.res.ErrorResource()); ok {
		slog.Warn("etcd could not serve a request", "resource", s.res.Plural, "name", name, "err", err)
		return se
	}
	switch {
	case storage.IsNotFound(err):
		return apierrors.NewNotFound(s.res.ErrorResource(), name)
	case storage.IsAlreadyExists(err):
		return apierrors.NewAlreadyExists(s.res.ErrorResource(), name)
	case storage.IsConflict(err):
		return apierrors.NewConflict(s.res.ErrorResource(), name, apierrors.ConflictModified)
	}
	se, ok := storage.AsError(err)
	switch {
	case !ok:
		return err
	case se.Code == storage.CodeExpired:
		st := apierrors.NewExpired(se.Message)
		st.Status.Metadata.Continue = se.Continue
		return st
	case se.Code == storage.CodeTooLargeResourceVersion:
		return apierrors.NewTooLargeResourceVersion(se.Message, se.RetryAfterSeconds)
	case se.Code == storage.CodeBadRequest:
		return apierrors.NewBadRequest(se.Message)
	}
	return err
}

// resourceVersion parses a resourceVersion string; "" is 0.
func resourceVersion(rv string) (int64, bool) {
	if rv == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	return n, err == nil && n >= 0
}
