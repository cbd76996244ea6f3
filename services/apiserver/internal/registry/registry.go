// Package registry gives every resource the server serves its Kubernetes
// semantics on top of storage: names, uids, generations, defaulting,
// validation, finalizers and graceful deletion, selectors, status and
// scale subresources. The REST and gRPC faces both call a Backend; neither
// knows about etcd.
package registry

import (
	"context"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
)

// Backend is one resource's API, as both faces use it. Objects and lists
// are the resource's own protobuf messages; errors are
// *apierrors.StatusError.
type Backend interface {
	Create(ctx context.Context, obj proto.Message, opts CreateOptions) (proto.Message, error)
	Get(ctx context.Context, namespace, name string, opts GetOptions) (proto.Message, error)
	List(ctx context.Context, namespace string, opts ListOptions) (proto.Message, error)
	Watch(ctx context.Context, namespace string, opts ListOptions) (Watcher, error)
	Update(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error)
	UpdateStatus(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error)
	Patch(ctx context.Context, namespace, name string, patch Patch, opts UpdateOptions) (proto.Message, error)
	Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions) (proto.Message, error)
}

// CreateOptions are the query parameters of a create.
type CreateOptions struct {
	DryRun          bool
	FieldManager    string
	FieldValidation string // Strict, Warn or Ignore (decoding is done by the caller)
	// applied: the object comes from a server-side apply, its
	// managedFields already computed.
	applied bool
}

// UpdateOptions are the query parameters of an update or patch.
type UpdateOptions struct {
	DryRun       bool
	FieldManager string
	Force        bool
	// FieldValidation applies to the object a patch produces: Strict,
	// Warn (the default) or Ignore.
	FieldValidation string
	// Subresource is "" for the main resource or "status".
	Subresource string
	applied     bool // as in CreateOptions
}

// GetOptions are the query parameters of a get.
type GetOptions struct {
	ResourceVersion string
}

// ListOptions are the query parameters of a list or watch.
type ListOptions struct {
	LabelSelector        string
	FieldSelector        string
	ResourceVersion      string
	ResourceVersionMatch string
	Limit                int64
	Continue             string
	AllowWatchBookmarks  bool
	TimeoutSeconds       int64
	SendInitialEvents    *bool
}

// Patch is a patch document and its type (the Content-Type Kubernetes uses:
// application/merge-patch+json, application/json-patch+json,
// application/strategic-merge-patch+json, application/apply-patch+yaml).
type Patch struct {
	Type string
	Data []byte
}

// Event types of a watch.
const (
	Added    = "ADDED"
	Modified = "MODIFIED"
	Deleted  = "DELETED"
	Bookmark = "BOOKMARK"
	Error    = "ERROR"
)

// Event is one watch event. An ERROR event's Object is a *metav1.Status.
type Event struct {
	Type   string
	Object proto.Message
}

// Watcher is an open watch. ResultChan is closed when the watch ends; Stop
// ends it early.
type Watcher interface {
	ResultChan() <-chan Event
	Stop()
}
