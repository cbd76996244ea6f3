package apierrors

import (
	"net/http"

	metav1 "skiff.dev/api/meta/v1"
)

// ReasonTooManyRequests is the reason of a 429.
const ReasonTooManyRequests = "TooManyRequests"

// NewTooManyRequests: 429, try again after retryAfter seconds (0: no
// suggestion); causes say why.
func NewTooManyRequests(msg string, retryAfter int32, causes ...*metav1.StatusCause) *StatusError {
	return newStatus(http.StatusTooManyRequests, ReasonTooManyRequests, msg,
		&metav1.StatusDetails{RetryAfterSeconds: retryAfter, Causes: causes})
}

// NewFailure is a Status with a code and message and no reason, as a
// handler that answers with its own Status gives (the eviction of a pod
// that more than one disruption budget covers is a 500 of this kind).
func NewFailure(code int32, msg string) *StatusError {
	return newStatus(code, "", msg, nil)
}
