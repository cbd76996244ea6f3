package client

import (
	"errors"

	"google.golang.org/grpc/status"

	metav1 "skiff.dev/api/meta/v1"
)

// StatusError is an error the apiserver answered with; Status is the
// Kubernetes Status (reason, code, causes).
type StatusError struct {
	Status *metav1.Status
	// grpc is the gRPC status it came in, so that status.Code of the
	// error is the server's code (InvalidArgument, NotFound...).
	grpc *status.Status
}

func (e *StatusError) Error() string { return e.Status.GetMessage() }

// GRPCStatus is the gRPC status the server answered with (nil for a
// StatusError not made from a gRPC answer), for status.FromError and
// status.Code.
func (e *StatusError) GRPCStatus() *status.Status { return e.grpc }

// FromGRPC turns a gRPC error into a *StatusError when the server attached
// a Status; other errors (transport, cancellation) pass through.
func FromGRPC(err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range s.Details() {
		if st, ok := d.(*metav1.Status); ok {
			return &StatusError{Status: st, grpc: s}
		}
	}
	return err
}

func statusOf(err error) *metav1.Status {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return &metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Failure", Message: err.Error(), Reason: "InternalError", Code: 500}
}

// ReasonOf is the Status reason of err, "" when it has none.
func ReasonOf(err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status.GetReason()
	}
	return ""
}

// IsForbidden reports a 403: the user may not do this.
func IsForbidden(err error) bool { return ReasonOf(err) == "Forbidden" }

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return ReasonOf(err) == "NotFound" }

// IsAlreadyExists reports a create of an existing name.
func IsAlreadyExists(err error) bool { return ReasonOf(err) == "AlreadyExists" }

// IsConflict reports a stale resourceVersion.
func IsConflict(err error) bool { return ReasonOf(err) == "Conflict" }

// IsInvalid reports a 422 with field causes.
func IsInvalid(err error) bool { return ReasonOf(err) == "Invalid" }

// IsExpired reports a 410: the resourceVersion is too old, list again.
func IsExpired(err error) bool { return ReasonOf(err) == "Expired" || ReasonOf(err) == "Gone" }
