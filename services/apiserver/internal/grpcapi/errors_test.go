package grpcapi

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/field"
)

// TestResourceVersionErrorsOnTheGRPCFace checks that the resourceVersion
// refusals reach gRPC clients with their code and the whole Status,
// causes included.
func TestResourceVersionErrorsOnTheGRPCFace(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		code  codes.Code
		cause string
	}{
		{"too large", apierrors.NewTooLargeResourceVersion("Too large resource version: 9, current: 5", 1),
			codes.DeadlineExceeded, apierrors.CauseResourceVersionTooLarge},
		{"expired", apierrors.NewExpired("The resourceVersion for the provided list is too old."), codes.OutOfRange, ""},
		{"invalid options", apierrors.NewInvalid(apierrors.Resource{Group: "meta.k8s.io", Kind: "ListOptions"}, "",
			field.ErrorList{field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden unless resourceVersion is provided")}),
			codes.InvalidArgument, "FieldValueForbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := status.FromError(toStatus(tt.err))
			if s.Code() != tt.code {
				t.Fatalf("got %s, want %s", s.Code(), tt.code)
			}
			var st *metav1.Status
			for _, d := range s.Details() {
				if v, ok := d.(*metav1.Status); ok {
					st = v
				}
			}
			if st == nil || st.GetMessage() != apierrors.ToStatus(tt.err).GetMessage() {
				t.Fatalf("got details %v, want the Status", s.Details())
			}
			if tt.cause != "" && (len(st.GetDetails().GetCauses()) != 1 || st.GetDetails().GetCauses()[0].GetReason() != tt.cause) {
				t.Errorf("got causes %v, want %s", st.GetDetails().GetCauses(), tt.cause)
			}
		})
	}
}
