package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/storage"
)

// TestToStatusOfEtcdFailures: etcd unavailable, an etcd call out of time
// and a request out of time reach gRPC clients as Unavailable and
// DeadlineExceeded with the Kubernetes Status attached, never etcd's text.
func TestToStatusOfEtcdFailures(t *testing.T) {
	raw := status.Error(codes.Unavailable, "error reading from server: EOF")
	tests := []struct {
		name       string
		err        error
		code       codes.Code
		httpCode   int32
		retryAfter bool
	}{
		{"etcd unavailable", fmt.Errorf("create: %w", &storage.Error{Code: storage.CodeUnavailable, Err: raw}), codes.Unavailable, 503, true},
		{"etcd timeout", fmt.Errorf("get: %w", &storage.Error{Code: storage.CodeTimeout, Err: context.DeadlineExceeded}), codes.DeadlineExceeded, 504, true},
		{"request timeout", fmt.Errorf("etcd call: %w", errors.Join(context.DeadlineExceeded, raw)), codes.DeadlineExceeded, 504, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := status.Convert(toStatus(tt.err))
			if s.Code() != tt.code {
				t.Errorf("code %s, want %s", s.Code(), tt.code)
			}
			if strings.Contains(s.Message(), "rpc error") || strings.Contains(s.Message(), "EOF") {
				t.Errorf("message %q carries etcd's error", s.Message())
			}
			var st *metav1.Status
			for _, d := range s.Details() {
				if v, ok := d.(*metav1.Status); ok {
					st = v
				}
			}
			if st == nil {
				t.Fatal("no Status in the details")
			}
			if st.GetCode() != tt.httpCode {
				t.Errorf("Status code %d, want %d", st.GetCode(), tt.httpCode)
			}
			if got := st.GetDetails().GetRetryAfterSeconds() > 0; got != tt.retryAfter {
				t.Errorf("retryAfterSeconds %d, want set: %v", st.GetDetails().GetRetryAfterSeconds(), tt.retryAfter)
			}
		})
	}
}
