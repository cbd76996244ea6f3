package client

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1 "skiff.dev/api/meta/v1"
)

// A Status error keeps the gRPC code it arrived with, so status.Code of
// what a client call returns is the server's code, not Unknown.
func TestFromGRPCKeepsTheCode(t *testing.T) {
	for _, tc := range []struct {
		code   codes.Code
		reason string
	}{
		{codes.InvalidArgument, "Invalid"},
		{codes.NotFound, "NotFound"},
		{codes.AlreadyExists, "AlreadyExists"},
		{codes.Unavailable, "ServiceUnavailable"},
	} {
		st, err := status.New(tc.code, "msg").WithDetails(&metav1.Status{Reason: tc.reason, Message: "msg"})
		if err != nil {
			t.Fatal(err)
		}
		got := FromGRPC(st.Err())
		var se *StatusError
		if !errors.As(got, &se) || ReasonOf(got) != tc.reason {
			t.Fatalf("%v: got %v, want a StatusError with reason %s", tc.code, got, tc.reason)
		}
		if status.Code(got) != tc.code {
			t.Errorf("%s: status.Code %v, want %v", tc.reason, status.Code(got), tc.code)
		}
	}
}
