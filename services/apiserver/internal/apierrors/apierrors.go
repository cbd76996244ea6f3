// Package apierrors is the one place where the apiserver's failures become
// Kubernetes Status objects: every error a client sees is built here, with
// the reason, code and wording kubectl users know.
package apierrors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// Reasons, as metav1.StatusReason spells them.
const (
	ReasonNotFound              = "NotFound"
	ReasonAlreadyExists         = "AlreadyExists"
	ReasonConflict              = "Conflict"
	ReasonInvalid               = "Invalid"
	ReasonBadRequest            = "BadRequest"
	ReasonUnauthorized          = "Unauthorized"
	ReasonForbidden             = "Forbidden"
	ReasonMethodNotAllowed      = "MethodNotAllowed"
	ReasonNotAcceptable         = "NotAcceptable"
	ReasonUnsupportedMediaType  = "UnsupportedMediaType"
	ReasonRequestEntityTooLarge = "RequestEntityTooLarge"
	ReasonExpired               = "Expired"
	ReasonGone                  = "Gone"
	ReasonTimeout               = "Timeout"
	ReasonInternalError         = "InternalError"
	ReasonServiceUnavailable    = "ServiceUnavailable"
)

// StatusError is an error that carries the Status to answer with.
type StatusError struct {
	Status *metav1.Status
}

func (e *StatusError) Error() string { return e.Status.GetMessage() }

// Resource names what an error is about: group and plural resource
// (pods), and for Invalid the kind (Pod).
type Resource struct {
	Group    string
	Resource string
	Kind     string
}

func (r Resource) qualified() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// qualifiedKind is the kind with its group, as Kubernetes names it in
// messages: Deployment.apps, Pod.
func (r Resource) qualifiedKind() string {
	if r.Group == "" {
		return r.Kind
	}
	return r.Kind + "." + r.Group
}

func newStatus(code int32, reason, msg string, details *metav1.StatusDetails) *StatusError {
	return &StatusError{Status: &metav1.Status{
		Kind: "Status", ApiVersion: "v1", Metadata: &metav1.ListMeta{},
		Status: "Failure", Code: code, Reason: reason, Message: msg, Details: details,
	}}
}

// NewNotFound: pods "web" not found.
func NewNotFound(r Resource, name string) *StatusError {
	return newStatus(http.StatusNotFound, ReasonNotFound,
		fmt.Sprintf("%s %q not found", r.qualified(), name),
		&metav1.StatusDetails{Name: name, Group: r.Group, Kind: r.Resource})
}

// NewAlreadyExists: pods "web" already exists.
func NewAlreadyExists(r Resource, name string) *StatusError {
	return newStatus(http.StatusConflict, ReasonAlreadyExists,
		fmt.Sprintf("%s %q already exists", r.qualified(), name),
		&metav1.StatusDetails{Name: name, Group: r.Group, Kind: r.Resource})
}

// NewConflict: the optimistic-concurrency failure of an update.
func NewConflict(r Resource, name, why string) *StatusError {
	return newStatus(http.StatusConflict, ReasonConflict,
		fmt.Sprintf("Operation cannot be fulfilled on %s %q: %s", r.qualified(), name, why),
		&metav1.StatusDetails{Name: name, Group: r.Group, Kind: r.Resource})
}

// ConflictModified is the reason of a stale resourceVersion.
const ConflictModified = "the object has been modified; please apply your changes to the latest version and try again"

// NewInvalid: Pod "web" is invalid: <field errors> (Deployment.apps "web"
// outside the core group), with one cause per field.
func NewInvalid(r Resource, name string, errs field.ErrorList) *StatusError {
	causes := make([]*metav1.StatusCause, len(errs))
	for i, e := range errs {
		causes[i] = &metav1.StatusCause{Reason: string(e.Type), Message: e.Message(), Field: e.Field}
	}
	return newStatus(http.StatusUnprocessableEntity, ReasonInvalid,
		fmt.Sprintf("%s %q is invalid: %s", r.qualifiedKind(), name, errs.Error()),
		&metav1.StatusDetails{Name: name, Group: r.Group, Kind: r.Kind, Causes: causes})
}

// NewBadRequest: the request itself cannot be understood.
func NewBadRequest(msg string) *StatusError {
	return newStatus(http.StatusBadRequest, ReasonBadRequest, msg, nil)
}

// NewStrictDecoding reports unknown or duplicate fields under
// fieldValidation=Strict, one cause per field.
func NewStrictDecoding(problems []string) *StatusError {
	se := NewBadRequest("strict decoding error: " + strings.Join(problems, ", "))
	causes := make([]*metav1.StatusCause, len(problems))
	for i, p := range problems {
		causes[i] = &metav1.StatusCause{Reason: "FieldValueInvalid", Message: p}
	}
	se.Status.Details = &metav1.StatusDetails{Causes: causes}
	return se
}

// NewUnauthorized: no or bad credentials.
func NewUnauthorized(msg string) *StatusError {
	if msg == "" {
		msg = "Unauthorized"
	}
	return newStatus(http.StatusUnauthorized, ReasonUnauthorized, msg, nil)
}

// NewForbidden: the user may not do this.
func NewForbidden(r Resource, name, why string) *StatusError {
	var msg string
	switch {
	case r.Resource == "":
		msg = "forbidden: " + why // a non-resource request
	case name == "":
		msg = fmt.Sprintf("%s is forbidden: %s", r.qualified(), why)
	default:
		msg = fmt.Sprintf("%s %q is forbidden: %s", r.qualified(), name, why)
	}
	return newStatus(http.StatusForbidden, ReasonForbidden, msg,
		&metav1.StatusDetails{Name: name, Group: r.Group, Kind: r.Resource})
}

// NewMethodNotSupported: the verb does not apply to the resource.
func NewMethodNotSupported(r Resource, verb string) *StatusError {
	return newStatus(http.StatusMethodNotAllowed, ReasonMethodNotAllowed,
		fmt.Sprintf("%s is not supported on resources of kind %q", verb, r.qualified()),
		&metav1.StatusDetails{Group: r.Group, Kind: r.Resource})
}

// NewNotAcceptable: no encoding the client accepts.
func NewNotAcceptable(accept string) *StatusError {
	return newStatus(http.StatusNotAcceptable, ReasonNotAcceptable,
		fmt.Sprintf("only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf (asked for %q)", accept), nil)
}

// NewUnsupportedMediaType: a body in an encoding the server cannot read.
func NewUnsupportedMediaType(contentType string) *StatusError {
	return newStatus(http.StatusUnsupportedMediaType, ReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got %q)", contentType), nil)
}

// NewRequestEntityTooLarge: a body over the limit.
func NewRequestEntityTooLarge(msg string) *StatusError {
	return newStatus(http.StatusRequestEntityTooLarge, ReasonRequestEntityTooLarge, msg, nil)
}

// NewExpired: 410, a resourceVersion or continue token that is too old.
func NewExpired(msg string) *StatusError {
	return newStatus(http.StatusGone, ReasonExpired, msg, nil)
}

// NewTimeout: the server could not finish in time.
func NewTimeout(msg string) *StatusError {
	return newStatus(http.StatusGatewayTimeout, ReasonTimeout, msg, nil)
}

// CauseResourceVersionTooLarge is the cause type of a read at a
// resourceVersion the server has not reached.
const CauseResourceVersionTooLarge = "ResourceVersionTooLarge"

// NewTooLargeResourceVersion: 504, a read that must be at least as new as
// a resourceVersion the server has not reached in time, with the
// ResourceVersionTooLarge cause client-go's reflector acts on.
func NewTooLargeResourceVersion(msg string, retryAfterSeconds int32) *StatusError {
	return newStatus(http.StatusGatewayTimeout, ReasonTimeout, "Timeout: "+msg, &metav1.StatusDetails{
		RetryAfterSeconds: retryAfterSeconds,
		Causes:            []*metav1.StatusCause{{Reason: CauseResourceVersionTooLarge, Message: "Too large resource version"}},
	})
}

// NewInternalError: something broke inside the server.
func NewInternalError(err error) *StatusError {
	return newStatus(http.StatusInternalServerError, ReasonInternalError,
		fmt.Sprintf("Internal error occurred: %v", err), nil)
}

// NewServiceUnavailable: try again later.
func NewServiceUnavailable(msg string) *StatusError {
	return newStatus(http.StatusServiceUnavailable, ReasonServiceUnavailable, msg, nil)
}

// ToStatus turns any error into the Status to answer with.
func ToStatus(err error) *metav1.Status {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return se.Status
	}
	if se, ok := FromStorage(err, Resource{}); ok {
		return se.Status
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return NewTimeout(MessageRequestTimeout).Status
	case errors.Is(err, context.Canceled):
		return NewTimeout("the request was cancelled").Status
	default:
		return NewInternalError(err).Status
	}
}

// ReasonOf is the Status reason of err ("" for nil).
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	return ToStatus(err).GetReason()
}

// IsNotFound tells whether err answers 404.
func IsNotFound(err error) bool { return ReasonOf(err) == ReasonNotFound }

// IsForbidden tells whether err refuses a request the user may not make.
func IsForbidden(err error) bool { return ReasonOf(err) == ReasonForbidden }

// IsAlreadyExists tells whether err is a create of an existing name.
func IsAlreadyExists(err error) bool { return ReasonOf(err) == ReasonAlreadyExists }

// IsConflict tells whether err is an optimistic-concurrency failure.
func IsConflict(err error) bool { return ReasonOf(err) == ReasonConflict }

// NewInvalidPatch: a JSON patch whose operations do not apply.
func NewInvalidPatch(err error) *StatusError {
	return newStatus(http.StatusUnprocessableEntity, ReasonInvalid,
		fmt.Sprintf("the server rejected our request due to an error in our request: %v", err), nil)
}
