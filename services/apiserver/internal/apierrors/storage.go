package apierrors

import (
	"fmt"
	"net/http"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/storage"
)

// StorageRetryAfterSeconds is the Retry-After of an answer that etcd
// could not serve: about the time etcd takes to elect a new leader.
const StorageRetryAfterSeconds = 1

// MessageRequestTimeout is the message of a request that ran past the
// request timeout, in Kubernetes' words.
const MessageRequestTimeout = "Timeout: request did not complete within the allotted timeout"

// storageTable is the one mapping from a storage failure that means etcd
// could not serve to the Status a client sees: etcd unreachable or
// leaderless is 503 ServiceUnavailable, an etcd call out of time 504
// Timeout, both with Retry-After unless a write may have been applied. The message names the resource and
// never carries etcd's own error text, which goes to the server's log.
var storageTable = []struct {
	is     func(error) bool
	code   int32
	reason string
	format string // %s: "pods", "deployments.apps", or "the resource"
}{
	{storage.IsUnavailable, http.StatusServiceUnavailable, ReasonServiceUnavailable,
		"The request against %s could not be completed at this time because etcd is unavailable, please try again."},
	{storage.IsTimeout, http.StatusGatewayTimeout, ReasonTimeout,
		"Timeout: the request against %s did not complete because etcd did not answer in time, please try again."},
}

// FromStorage is the Status of a storage failure in the table, about
// resource r (the zero Resource when unknown); ok is false for any other
// error.
func FromStorage(err error, r Resource) (se *StatusError, ok bool) {
	for _, row := range storageTable {
		if !row.is(err) {
			continue
		}
		what := r.qualified()
		if what == "" {
			what = "the resource"
		}
		details := &metav1.StatusDetails{Group: r.Group, Kind: r.Resource, RetryAfterSeconds: StorageRetryAfterSeconds}
		if storage.MayHaveApplied(err) {
			// No Retry-After: client-go sends any request again on a 5xx
			// that has one, and this write may already be stored.
			details.RetryAfterSeconds = 0
		}
		return newStatus(row.code, row.reason, fmt.Sprintf(row.format, what), details), true
	}
	return nil, false
}
