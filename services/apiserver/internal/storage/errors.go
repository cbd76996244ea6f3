package storage

import (
	"errors"
	"fmt"
)

// ErrCode classifies a storage failure.
type ErrCode int

// The failures callers tell apart.
const (
	CodeNotFound ErrCode = iota + 1
	CodeAlreadyExists
	CodeConflict
	CodeExpired
	CodeTooLargeResourceVersion
	// CodeBadRequest is a request the storage cannot serve as asked (a
	// continue token it did not issue, a resourceVersion beside one).
	CodeBadRequest
	// CodeUnavailable: etcd could not be reached or has no leader; the
	// operation may be retried.
	CodeUnavailable
	// CodeTimeout: the etcd operation did not finish within its deadline.
	CodeTimeout
)

// Error is a classified storage failure about one key.
type Error struct {
	Code    ErrCode
	Key     string
	Message string
	// RetryAfterSeconds is how long a client should wait before asking
	// again (CodeTooLargeResourceVersion).
	RetryAfterSeconds int32
	// Continue is a token that goes on with a list whose own token
	// expired, at the latest revision (CodeExpired).
	Continue string
	// Err is the etcd error behind an Unavailable or Timeout, for logs.
	Err error
	// MayHaveApplied marks an Unavailable or Timeout of a write whose
	// outcome is unknown: etcd may commit the proposal after answering
	// (request timed out, leader changed, connection lost). Asking the
	// client to send it again could apply it twice (a second object of a
	// generateName create), so such an answer carries no Retry-After.
	MayHaveApplied bool
}

// MayHaveApplied tells whether a failed write may still have been
// applied (Error.MayHaveApplied).
func MayHaveApplied(err error) bool {
	var se *Error
	return errors.As(err, &se) && se.MayHaveApplied
}

// Unwrap is the etcd error behind the classification.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("storage error %d on %s", e.Code, e.Key)
}

func hasCode(err error, code ErrCode) bool {
	var se *Error
	return errors.As(err, &se) && se.Code == code
}

// IsNotFound tells whether the key does not exist.
func IsNotFound(err error) bool { return hasCode(err, CodeNotFound) }

// IsAlreadyExists tells whether a create found the key taken.
func IsAlreadyExists(err error) bool { return hasCode(err, CodeAlreadyExists) }

// IsConflict tells whether a compare-and-swap lost.
func IsConflict(err error) bool { return hasCode(err, CodeConflict) }

// IsExpired tells whether a revision is no longer available (410).
func IsExpired(err error) bool { return hasCode(err, CodeExpired) }

// IsTooLargeResourceVersion tells whether a revision is in the future.
func IsTooLargeResourceVersion(err error) bool { return hasCode(err, CodeTooLargeResourceVersion) }

// AsError returns err's classified storage error, if it is one.
func AsError(err error) (*Error, bool) {
	var se *Error
	ok := errors.As(err, &se)
	return se, ok
}

// tooLarge is the answer to a read of a revision the storage has not
// reached (Kubernetes': "Too large resource version: N, current: M").
func tooLarge(requested, current int64, retryAfter int32) *Error {
	return &Error{Code: CodeTooLargeResourceVersion, RetryAfterSeconds: retryAfter,
		Message: fmt.Sprintf("Too large resource version: %d, current: %d", requested, current)}
}

func badRequest(format string, args ...any) *Error {
	return &Error{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// IsUnavailable tells whether etcd could not serve the operation.
func IsUnavailable(err error) bool { return hasCode(err, CodeUnavailable) }

// IsTimeout tells whether an etcd operation ran out of time.
func IsTimeout(err error) bool { return hasCode(err, CodeTimeout) }

func expired(rv, oldest int64) *Error {
	return &Error{Code: CodeExpired, Message: fmt.Sprintf("too old resource version: %d (%d)", rv, oldest)}
}
