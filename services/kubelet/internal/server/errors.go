package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// statusError is a failure the client is told about, with its HTTP code
// and Kubernetes reason.
type statusError struct {
	code    int
	reason  metav1.StatusReason
	message string
}

func (e *statusError) Error() string { return e.message }

func badRequest(msg string) error {
	return &statusError{http.StatusBadRequest, metav1.StatusReasonBadRequest, msg}
}

func notFound(msg string) error {
	return &statusError{http.StatusNotFound, metav1.StatusReasonNotFound, msg}
}

func unauthorized(msg string) error {
	return &statusError{http.StatusUnauthorized, metav1.StatusReasonUnauthorized, msg}
}

func forbidden(msg string) error {
	return &statusError{http.StatusForbidden, metav1.StatusReasonForbidden, msg}
}

// status turns any error into the Status a client gets: statusErrors as
// they are, anything else as an internal error.
func status(err error) *metav1.Status {
	se := &statusError{http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error()}
	errors.As(err, &se)
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Code: int32(se.code), Reason: se.reason, Message: se.message,
	}
}

// writeError answers a request that has not written anything yet with a
// Status. A client that went away is not answered.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
		return
	}
	st := status(err)
	if st.Code == http.StatusInternalServerError {
		slog.WarnContext(r.Context(), "kubelet server request failed", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}
