package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/fieldmanager"
	"skiff.dev/services/apiserver/internal/printers"
)

// Resource describes one kind the server serves: its names, scope, message
// types and the strategy that gives it its rules.
type Resource struct {
	Group      string // "" for the core group
	Version    string
	Plural     string // pods
	Singular   string // pod
	Kind       string // Pod
	ListKind   string // PodList
	ShortNames []string
	Categories []string
	Namespaced bool
	// HasStatus marks a status subresource: the main resource ignores
	// status changes and /status ignores everything else.
	HasStatus bool
	// Subresources are the subresources served besides the object:
	// "status", "scale", "binding", "finalize", "token",
	// "ephemeralcontainers".
	Subresources []string
	// Parts are the subresources that write one part of the object and
	// nothing else, by the path of proto field names to that part
	// (namespaces/finalize: spec; pods/ephemeralcontainers:
	// spec.ephemeral_containers). Updates of the main resource keep those
	// parts as stored, as they keep the status.
	Parts map[string][]string
	// Verbs are the verbs served when not all are: a review, answered and
	// never stored, serves only "create". Nil means every verb.
	Verbs []string
	// NoTable marks a resource whose answers are not printed as a Table
	// (a review: Kubernetes gives its storage no table convertor), so a
	// request that accepts only a Table answers 406.
	NoTable  bool
	New      func() proto.Message
	NewList  func() proto.Message
	Strategy Strategy
	// FieldManager tracks field ownership (metadata.managedFields) and
	// serves server-side apply; nil leaves managedFields as clients write
	// them and refuses apply patches.
	FieldManager *fieldmanager.Manager
	// NoProtobuf marks a kind without protobuf messages on the wire (a
	// custom resource): it is read and written as JSON and YAML only, and
	// asked for in protobuf it answers 406, as Kubernetes does.
	NoProtobuf bool
	// Printer gives the Table columns of a kind known only at run time
	// (a custom resource's additionalPrinterColumns); nil uses the
	// printer registered for the kind.
	Printer *printers.Printer
	// PatchMeta drives strategic merge patches (merge keys and strategies
	// from the contracts); nil refuses them.
	PatchMeta strategicpatch.LookupPatchMeta
	// Traced kinds carry the trace context of the write that created or
	// changed them in the trace.skiff.dev/traceparent annotation, for the
	// components that act on them to continue (pods, Services, workloads,
	// EndpointSlices). Other kinds (Events, ConfigMaps, Leases, ...) are
	// stored as written: nobody continues their traces, and Kubernetes
	// clients expect to read back what they wrote.
	Traced bool
	// SpecPart is the top-level field whose change bumps
	// metadata.generation: "spec" when empty (a PodTemplate's is
	// "template").
	SpecPart protoreflect.Name
	// StorageVersion is the version objects are kept in when it is not
	// Version (a CustomResourceDefinition's storage version).
	StorageVersion string
	// Resets, when set, replaces the reset fields ResetFields derives from
	// HasStatus, for a kind whose strategies reset more (a
	// CertificateSigningRequest's spec never changes, and its approval
	// subresource writes only the conditions).
	Resets map[string][]string
	// StoredAs is set for a resource whose objects are another resource's,
	// kept under its keys and in its encoding (events.k8s.io/v1 Events are
	// core/v1 Events); nil stores the resource's own objects.
	StoredAs *StoredAs
}

// StoredAs says which resource holds another's objects and how an object
// turns from one shape into the other.
type StoredAs struct {
	Resource   *Resource
	ToStored   func(proto.Message) proto.Message
	FromStored func(proto.Message) proto.Message
}

// Stored is the resource whose keys and encoding hold r's objects: r
// itself unless it is stored as another.
func (r *Resource) Stored() *Resource {
	if r.StoredAs != nil {
		return r.StoredAs.Resource
	}
	return r
}

// StorageVersionHash is the discovery document's storageVersionHash, as
// Kubernetes computes it: the first 8 bytes of the SHA-256 of the storage
// group/version/kind, in base64. Resources sharing objects share it.
func (r *Resource) StorageVersionHash() string {
	stored := r.Stored()
	version := stored.Version
	if stored.StorageVersion != "" {
		version = stored.StorageVersion
	}
	sum := sha256.Sum256([]byte(stored.Group + "/" + version + "/" + stored.Kind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

// specPart is the field whose change bumps the generation.
func (r *Resource) specPart() protoreflect.Name {
	if r.SpecPart != "" {
		return r.SpecPart
	}
	return "spec"
}

// allVerbs are the verbs of a resource that serves every one, in the
// order Kubernetes' discovery lists them.
var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// ServedVerbs are the verbs the resource serves: Verbs, or every verb.
func (r *Resource) ServedVerbs() []string {
	if r.Verbs != nil {
		return r.Verbs
	}
	return allVerbs
}

// ResetFields are the fields a write through each subresource does not
// own (server-side apply), as Kubernetes' strategies declare them: the
// main resource leaves the status alone, the status subresource the spec.
func (r *Resource) ResetFields() map[string][]string {
	if r.Resets != nil {
		return r.Resets
	}
	if !r.HasStatus {
		return nil
	}
	return map[string][]string{"": {"status"}, "status": {"spec"}}
}

// GroupVersion is "v1" for the core group, "apps/v1" otherwise.
func (r *Resource) GroupVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// StorageGroup is the group as the etcd key layout writes it.
func (r *Resource) StorageGroup() string {
	if r.Group == "" {
		return "core"
	}
	return r.Group
}

// ErrorResource names the resource in error messages.
func (r *Resource) ErrorResource() apierrors.Resource {
	return apierrors.Resource{Group: r.Group, Resource: r.Plural, Kind: r.Kind}
}

// Strategy holds a kind's rules. Every hook is optional.
type Strategy struct {
	// Prune removes from obj the fields its kind does not declare and
	// returns their paths ("spec.foo"): a custom resource's schema. Under
	// fieldValidation=Strict they refuse the write, under Warn they are
	// warnings.
	Prune func(obj proto.Message) []string
	// PrepareForCreate clears what a client may not set on create, or
	// sets it from the request (the user in ctx: a
	// CertificateSigningRequest's requestor).
	PrepareForCreate func(ctx context.Context, obj proto.Message)
	// Default fills in defaults, as Kubernetes' defaulting does.
	Default func(obj proto.Message)
	// PrepareForStatusUpdate resets, in a write through */status, the
	// metadata the kind keeps from the stored object old (a Deployment's
	// labels, a Pod's ownerReferences); the spec is always old's.
	PrepareForStatusUpdate func(obj, old proto.Message)
	// PrepareForUpdate changes the object an update stores, after the
	// registry has taken from the stored object old what the write may
	// not change (the status of a write of the object, the spec of one
	// through status, all but the part of one through a part):
	// subresource is "", "status" or the part's name. A
	// CertificateSigningRequest keeps its spec and approval conditions
	// and stamps its conditions' times here.
	PrepareForUpdate func(subresource string, obj, old proto.Message)
	// Validate checks a new object.
	Validate func(obj proto.Message) field.ErrorList
	// ValidateCreate checks what only a created object must (not) be,
	// besides Validate (an events.k8s.io/v1 Event needs an eventTime, a
	// pod has no ephemeral containers yet).
	ValidateCreate func(obj proto.Message) field.ErrorList
	// ValidateUpdate checks an update against the old object
	// (immutable fields); Validate runs as well.
	ValidateUpdate func(obj, old proto.Message) field.ErrorList
	// ValidateStatusUpdate, when set, replaces ValidateUpdate for writes
	// through */status (a CustomResourceDefinition's status is checked
	// alone).
	ValidateStatusUpdate func(obj, old proto.Message) field.ErrorList
	// StatusChecksMetaOnly makes a write through */status check only the
	// object's metadata (and ValidateStatusUpdate, when set), not
	// Validate: Kubernetes' PersistentVolume status strategy, which lets a
	// volume stored before a validation rule tightened still have its
	// status written.
	StatusChecksMetaOnly bool
	// ValidatePartUpdate, when set, replaces ValidateUpdate for writes
	// through one of the resource's Parts, by the part's name (a
	// CertificateSigningRequest's approval may add Approved or Denied).
	ValidatePartUpdate func(part string, obj, old proto.Message) field.ErrorList
	// Warnings are what a valid write is told besides (Kubernetes'
	// WarningsOnCreate and WarningsOnUpdate: a NetworkPolicy's CIDR in a
	// non-standard form, a deprecated annotation); w says which write.
	Warnings func(w *Write) []string
	// NameValidation checks metadata.name; nil means DNS-1123 subdomain.
	NameValidation func(name string) []string
	// FieldSet returns the field-selector attributes of an object beyond
	// metadata.name and metadata.namespace (spec.nodeName, status.phase).
	FieldSet func(obj proto.Message) map[string]string
	// PendingFinalizers are finalizers kept outside metadata (a
	// namespace's spec.finalizers) that also hold an object being deleted.
	PendingFinalizers func(obj proto.Message) []string
	// DeleteFinalizers are finalizers the delete of obj adds (a
	// CustomResourceDefinition's customresourcecleanup, which holds it
	// until its objects are gone).
	DeleteFinalizers func(obj proto.Message) []string
	// PrepareForDelete changes an object that starts being deleted
	// (a namespace's phase becomes Terminating).
	PrepareForDelete func(obj proto.Message)
	// OrphanByDefault makes a delete that names neither a propagation
	// policy nor orphanDependents orphan the object's dependents, as
	// Kubernetes keeps for core/v1 ReplicationControllers and batch/v1 Jobs.
	OrphanByDefault bool
	// GracePeriod returns the grace period for deleting obj when the
	// client gave none, and whether the kind deletes gracefully at all.
	GracePeriod func(obj proto.Message, requested *int64) (seconds int64, graceful bool)
}
