package grpcapi

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A handler that panics answers Internal, and the panic goes no further.
func TestRecover(t *testing.T) {
	_, err := RecoverUnary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/skiff.batch.v1.JobService/UpdateStatus"},
		func(context.Context, any) (any, error) { panic("nil old status") })
	if status.Code(err) != codes.Internal {
		t.Fatalf("unary: got %v, want Internal", err)
	}
	err = RecoverStream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/skiff.core.v1.PodService/Watch"},
		func(any, grpc.ServerStream) error { panic("boom") })
	if status.Code(err) != codes.Internal {
		t.Fatalf("stream: got %v, want Internal", err)
	}
	if _, err := RecoverUnary(context.Background(), nil, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
}
