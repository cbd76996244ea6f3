package apierrors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/services/apiserver/internal/storage"
)

// TestStorageTable checks every row of the storage table, and that
// etcd's own error text never reaches the client.
func TestStorageTable(t *testing.T) {
	pods := Resource{Resource: "pods", Kind: "Pod"}
	deploy := Resource{Group: "apps", Resource: "deployments", Kind: "Deployment"}
	raw := status.Error(codes.Unavailable, "error reading from server: EOF")
	unavailable := fmt.Errorf("create /registry/core/pods/default/web: %w",
		&storage.Error{Code: storage.CodeUnavailable, Key: "/registry/core/pods/default/web", Message: "etcd is unavailable: " + raw.Error(), Err: raw})
	timeout := fmt.Errorf("get /registry/apps/deployments/default/web: %w",
		&storage.Error{Code: storage.CodeTimeout, Message: "etcd did not answer in time", Err: context.DeadlineExceeded})
	tests := []struct {
		name    string
		err     error
		r       Resource
		ok      bool
		code    int32
		reason  string
		message string
	}{
		{"unavailable", unavailable, pods, true, 503, ReasonServiceUnavailable,
			"The request against pods could not be completed at this time because etcd is unavailable, please try again."},
		{"timeout in a group", timeout, deploy, true, 504, ReasonTimeout,
			"Timeout: the request against deployments.apps did not complete because etcd did not answer in time, please try again."},
		{"unavailable, resource unknown", unavailable, Resource{}, true, 503, ReasonServiceUnavailable,
			"The request against the resource could not be completed at this time because etcd is unavailable, please try again."},
		{"not found is not in the table", &storage.Error{Code: storage.CodeNotFound}, pods, false, 0, "", ""},
		{"a plain error is not in the table", errors.New("boom"), pods, false, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se, ok := FromStorage(tt.err, tt.r)
			if ok != tt.ok {
				t.Fatalf("FromStorage ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			st := se.Status
			if st.Code != tt.code || st.Reason != tt.reason || st.Message != tt.message {
				t.Errorf("got %d %s %q, want %d %s %q", st.Code, st.Reason, st.Message, tt.code, tt.reason, tt.message)
			}
			if got := st.GetDetails().GetRetryAfterSeconds(); got != StorageRetryAfterSeconds {
				t.Errorf("retryAfterSeconds = %d, want %d", got, StorageRetryAfterSeconds)
			}
			if st.GetDetails().GetKind() != tt.r.Resource || st.GetDetails().GetGroup() != tt.r.Group {
				t.Errorf("details name %s/%s, want %s/%s", st.GetDetails().GetGroup(), st.GetDetails().GetKind(), tt.r.Group, tt.r.Resource)
			}
		})
	}
}

// TestToStatusUsesTheStorageTable: an error no handler turned into a
// Status still answers 503/504 rather than a 500 carrying etcd's text.
func TestToStatusUsesTheStorageTable(t *testing.T) {
	raw := status.Error(codes.Unavailable, "error reading from server: EOF")
	tests := []struct {
		name   string
		err    error
		code   int32
		reason string
	}{
		{"unavailable", fmt.Errorf("list: %w", &storage.Error{Code: storage.CodeUnavailable, Err: raw}), 503, ReasonServiceUnavailable},
		// A timed-out etcd call wraps context.DeadlineExceeded: the table
		// answers before the request-timeout rule.
		{"etcd timeout", &storage.Error{Code: storage.CodeTimeout, Err: context.DeadlineExceeded}, 504, ReasonTimeout},
		{"request timeout", fmt.Errorf("etcd call: %w", errors.Join(context.DeadlineExceeded, raw)), 504, ReasonTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ToStatus(tt.err)
			if st.Code != tt.code || st.Reason != tt.reason {
				t.Errorf("got %d %s, want %d %s", st.Code, st.Reason, tt.code, tt.reason)
			}
			if strings.Contains(st.Message, "rpc error") || strings.Contains(st.Message, "EOF") {
				t.Errorf("message %q carries etcd's error", st.Message)
			}
		})
	}
}

// TestStorageWriteMayHaveApplied: a write whose outcome etcd left open is
// answered without Retry-After, so clients (client-go retries any request
// on a 5xx that has one) do not apply it twice.
func TestStorageWriteMayHaveApplied(t *testing.T) {
	err := &storage.Error{Code: storage.CodeUnavailable, Message: "etcd is unavailable", MayHaveApplied: true}
	se, ok := FromStorage(err, Resource{Resource: "configmaps", Kind: "ConfigMap"})
	if !ok || se.Status.Code != 503 {
		t.Fatalf("FromStorage = %v, %v; want a 503", se, ok)
	}
	if got := se.Status.GetDetails().GetRetryAfterSeconds(); got != 0 {
		t.Errorf("retryAfterSeconds = %d, want none", got)
	}
}
